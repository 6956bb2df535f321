package slurm_test

import (
	"context"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
)

// Slurm's output is outside input: whatever sacct or sacctmgr print, the
// parsers return values or errors, never panic, and never negative usage.
func FuzzSlurmOutput(f *testing.F) {
	f.Add("a_alloc|alice|billing=2,cpu=2,mem=2G,node=1|600\n")
	f.Add("a_alloc||p_proj|cpu=600,gres/gpu=10|normal|normal|1\na_alloc|bob||||normal|parent\n")
	f.Add("x|y|mem=1.5T,gres/gpu:a100=4|-1\n")
	f.Add("|||\n||||||\n")
	f.Fuzz(func(t *testing.T, out string) {
		c := &slurm.Client{Runner: slurm.RunnerFunc(func(context.Context, string, ...string) ([]byte, error) {
			return []byte(out), nil
		})}
		jobs, err := c.Usage(t.Context(), []string{"a_alloc"}, time.Unix(0, 0), time.Unix(3600, 0), time.UTC)
		if err == nil {
			for _, j := range jobs {
				for k, v := range j.TRES {
					if v < 0 || j.TRESMinutes(k) < 0 {
						t.Fatalf("negative usage %v of %s from %q", v, k, out)
					}
				}
			}
		}
		_, _ = c.Associations(t.Context(), "a_alloc")
		_, _ = c.Account(t.Context(), "a_alloc")
	})
}
