//! Throwaway service processes (redis-server, PostgreSQL) on free loopback ports.
