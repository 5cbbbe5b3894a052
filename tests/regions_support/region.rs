//! One region of a test world: its `redis-server`, its regions dir, its instances'
//! internal ports and the instances themselves, plus byte-level reads of its Redis.

use std::path::PathBuf;
use std::process::Command;

use super::SECRET;
use crate::common::procs::Redis;
use crate::redis_support::Node;

/// One region: its Redis, its regions dir, its instances' internal ports and the
/// instances (a slot is `None` while stopped).
pub struct Region {
    pub name: &'static str,
    pub nodes: Vec<Option<Node>>,
    pub internal: Vec<u16>,
    pub dir: PathBuf,
    pub redis: Redis,
}

impl Region {
    fn env(&self, i: usize) -> Vec<(String, String)> {
        [
            ("SYNCKAIROS_REGION", self.name.to_owned()),
            ("SYNCKAIROS_REGIONS_DIR", self.dir.display().to_string()),
            ("REDIS_URL", self.redis.url()),
            (
                "SYNCKAIROS_CLUSTER__INTERNAL_PORT",
                self.internal[i].to_string(),
            ),
            ("SYNCKAIROS_CLUSTER__INTERNAL_BIND", "127.0.0.1".into()),
            ("SYNCKAIROS_CLUSTER__SECRET", SECRET.into()),
            ("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0".into()),
            ("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub fn running(&self) -> bool {
        self.nodes.iter().any(Option::is_some)
    }

    /// Every session key's bytes, lossless (`--no-raw` escapes), one line per id.
    pub fn snapshot<S: AsRef<str>>(&self, ids: &[S]) -> String {
        let keys: Vec<String> = ids.iter().map(|id| format!("s:{}", id.as_ref())).collect();
        let mut args = vec!["--no-raw", "MGET"];
        args.extend(keys.iter().map(String::as_str));
        self.redis.cli(&args)
    }

    /// `redis-cli --no-raw GET s:<id>` (`(nil)` when absent).
    pub fn raw(&self, id: &str) -> String {
        self.redis.cli(&["--no-raw", "GET", &format!("s:{id}")])
    }

    /// The exact stored bytes of `id` (`None` when absent).
    pub fn bytes(&self, id: &str) -> Option<Vec<u8>> {
        let key = format!("s:{id}");
        let exists = self.redis.cli(&["EXISTS", &key]);
        let out = Command::new("redis-cli")
            .args(["-p", &self.redis.port.to_string(), "--raw", "GET", &key])
            .output()
            .expect("redis-cli");
        let mut b = out.stdout;
        // `--raw` ends the value with one newline.
        b.pop();
        (exists == "1").then_some(b)
    }

    /// The stored version of `id` in this region's Redis (`None` when absent).
    pub fn version(&self, id: &str) -> Option<u64> {
        let lua = "local v = redis.call('GET', KEYS[1]) if not v then return -1 end \
                   return struct.unpack('>I8', string.sub(v, 2, 9))";
        let out = self.redis.cli(&["EVAL", lua, "1", &format!("s:{id}")]);
        match out.parse::<i64>() {
            Ok(-1) => None,
            Ok(v) => Some(v as u64),
            Err(_) => panic!("EVAL answered {out:?}"),
        }
    }
}

pub(super) fn start_nodes(r: &mut Region) {
    for i in 0..r.nodes.len() {
        if r.nodes[i].is_none() {
            let env = r.env(i);
            r.nodes[i] = Some(Node::start(&env));
        }
    }
}
