//! Deployment files of every platform, validated offline against what the server
//! reads, and the monitoring files (alert rules, Grafana) against what it exports.

mod docker;
mod k8s;
mod monitoring;
mod platforms;
