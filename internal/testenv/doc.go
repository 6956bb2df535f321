// Package testenv tells tests where the external services they need live.
//
// Integration tests read their endpoints from environment variables so that the
// same test runs against the services of a developer machine, of CI, or not at
// all. A test that needs an unset endpoint is skipped with a message naming the
// variable; `.ci/run` sets every variable, so in CI they always run.
//
//	func TestConsume(t *testing.T) {
//		url := testenv.AMQPURL(t) // skips when WALDUR_TEST_AMQP_URL is unset
//		...
//	}
package testenv
