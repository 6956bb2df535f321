package execbackend_test

import (
	"context"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/backends/execbackend"
)

// BenchmarkProcessOrder is one order through a shell script: encoding the
// request, starting the program, reading its answer.
func BenchmarkProcessOrder(b *testing.B) {
	cmd := execbackend.Command{"/bin/sh", "-c", `cat >/dev/null; echo '{"backend_id": "vol-1"}'`}
	backend, err := execbackend.New(execbackend.Config{Create: cmd})
	if err != nil {
		b.Fatal(err)
	}
	o := createOrder("results")
	for b.Loop() {
		if _, err := backend.ProcessOrder(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}
