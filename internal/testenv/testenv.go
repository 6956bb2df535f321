package testenv

import (
	"os"
	"testing"
)

// Environment variables naming the services integration tests use.
const (
	// EnvAMQPURL is an AMQP 0-9-1 URL of a RabbitMQ whose user may create vhosts,
	// for example amqp://guest:guest@127.0.0.1:5672/.
	EnvAMQPURL = "WALDUR_TEST_AMQP_URL"
	// EnvRabbitMQAPI is the base URL of the RabbitMQ management API with
	// credentials, for example http://guest:guest@127.0.0.1:15672.
	EnvRabbitMQAPI = "WALDUR_TEST_RABBITMQ_API"
	// EnvSTOMPAddr is the host:port of RabbitMQ's STOMP listener, for example 127.0.0.1:61613.
	EnvSTOMPAddr = "WALDUR_TEST_STOMP_ADDR"
	// EnvWebSTOMPURL is the URL of RabbitMQ's web-STOMP endpoint, for example ws://127.0.0.1:15674/ws.
	EnvWebSTOMPURL = "WALDUR_TEST_WEBSTOMP_URL"
	// EnvPostgresDSN is a PostgreSQL connection string for a database tests may
	// create tables in, for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	EnvPostgresDSN = "WALDUR_TEST_POSTGRES_DSN"
	// EnvNodeModules is a directory holding node_modules with
	// @modelcontextprotocol/sdk, for the MCP end-to-end test.
	EnvNodeModules = "WALDUR_TEST_NODE_MODULES"
	// EnvSlurm is set (to 1) where a local Slurm cluster with accounting
	// runs as .ci/slurm starts it.
	EnvSlurm = "WALDUR_TEST_SLURM"
	// EnvChromium is the path of a Chromium binary for browser tests, for
	// example /usr/bin/chromium (Debian's chromium package).
	EnvChromium = "WALDUR_TEST_CHROMIUM"
	// EnvArtifacts is a directory tests write artifacts to, such as
	// screenshots; when unset they go to a temporary directory.
	EnvArtifacts = "WALDUR_TEST_ARTIFACTS"
)

// Lookup returns the value of the environment variable name, or skips tb with a
// message that names the variable when it is unset or empty.
func Lookup(tb testing.TB, name, what string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Skipf("skipping: %s is not set; set it to run this test against %s (.ci/run sets it)", name, what)
	}
	return v
}

// AMQPURL returns WALDUR_TEST_AMQP_URL or skips tb.
func AMQPURL(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvAMQPURL, "a RabbitMQ broker over AMQP")
}

// RabbitMQAPI returns WALDUR_TEST_RABBITMQ_API or skips tb.
func RabbitMQAPI(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvRabbitMQAPI, "the RabbitMQ management API")
}

// STOMPAddr returns WALDUR_TEST_STOMP_ADDR or skips tb.
func STOMPAddr(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvSTOMPAddr, "RabbitMQ's STOMP listener")
}

// WebSTOMPURL returns WALDUR_TEST_WEBSTOMP_URL or skips tb.
func WebSTOMPURL(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvWebSTOMPURL, "RabbitMQ's web-STOMP endpoint")
}

// PostgresDSN returns WALDUR_TEST_POSTGRES_DSN or skips tb.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvPostgresDSN, "a PostgreSQL database")
}

// NodeModules returns WALDUR_TEST_NODE_MODULES or skips tb.
func NodeModules(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvNodeModules, "a Node.js MCP client")
}

// Slurm skips tb unless WALDUR_TEST_SLURM is set. In CI (CI=true) a
// missing cluster fails the test instead: CI starts one with .ci/slurm.
func Slurm(tb testing.TB) {
	tb.Helper()
	if os.Getenv(EnvSlurm) != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not set in CI; .ci/run starts Slurm with .ci/slurm and sets it", EnvSlurm)
	}
	Lookup(tb, EnvSlurm, "a local Slurm cluster (run .ci/slurm as root)")
}

// Chromium returns WALDUR_TEST_CHROMIUM or skips tb.
func Chromium(tb testing.TB) string {
	tb.Helper()
	return Lookup(tb, EnvChromium, "a headless Chromium")
}

// ArtifactDir returns WALDUR_TEST_ARTIFACTS, created if missing, or a
// temporary directory of tb when it is unset.
func ArtifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		return tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("test artifacts: %v", err)
	}
	return dir
}
