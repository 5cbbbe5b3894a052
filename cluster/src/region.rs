//! One region of a world: its `redis-server`, its regions dir (the generated
//! configuration), its instances' internal ports and the instances themselves, plus
//! byte-level reads of its Redis (`redis-cli`, lossless). Owns those processes; the
//! world starts and stops them.

use std::path::PathBuf;

use crate::instance::Instance;
use crate::redis::Redis;

/// One region: its Redis, its regions dir, its instances' internal ports and the
/// instances (a slot is `None` while stopped).
pub struct Region {
    pub name: &'static str,
    pub instances: Vec<Option<Instance>>,
    pub internal: Vec<u16>,
    pub dir: PathBuf,
    pub redis: Redis,
}

impl Region {
    pub fn running(&self) -> bool {
        self.instances.iter().any(Option::is_some)
    }

    /// The running instances.
    pub fn running_instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().flatten()
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
        let mut b = self.redis.cli_raw(&["GET", &key]);
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

    /// When this region last heard `home`'s relay (epoch ms of the `rh:<home>` key).
    pub fn heard(&self, home: &str) -> Option<i64> {
        self.redis.cli(&["GET", &format!("rh:{home}")]).parse().ok()
    }
}
