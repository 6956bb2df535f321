package amqpsource

// Exported for tests.
var (
	Classify = classify
	Message  = message
)
