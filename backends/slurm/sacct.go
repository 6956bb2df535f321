package slurm

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// JobUsage is one job allocation's use of trackable resources within a
// period, as sacct reports it.
type JobUsage struct {
	Account string
	User    string
	// TRES is the allocation's TRES (cpu, mem in MB, node, gres/gpu, ...).
	TRES map[string]float64
	// Elapsed is the run time within the period.
	Elapsed time.Duration
}

// TRESMinutes is the job's use of one TRES in TRES-minutes, the unit of
// GrpTRESMins.
func (j JobUsage) TRESMinutes(tres string) float64 {
	return j.TRES[tres] * j.Elapsed.Minutes()
}

// sacctTime is the time format sacct's --starttime and --endtime take.
const sacctTime = "2006-01-02T15:04:05"

// Usage returns the job allocations of accounts that ran within [start,
// end), run time cut to the period, for all users; running jobs count up
// to now. Times are given to sacct in loc (sacct reads them in the
// cluster's local time).
//
//	sacct -P -n -X --allusers --noconvert --truncate --starttime=<s> --endtime=<e> --accounts=<a,...> --format=Account,User,AllocTRES,ElapsedRaw
func (c *Client) Usage(ctx context.Context, accounts []string, start, end time.Time, loc *time.Location) ([]JobUsage, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	for _, a := range accounts {
		if err := CheckAccount(a); err != nil {
			return nil, err
		}
	}
	return c.usage(ctx, accounts, start, end, loc)
}

// AllUsage is Usage for every account of the cluster.
func (c *Client) AllUsage(ctx context.Context, start, end time.Time, loc *time.Location) ([]JobUsage, error) {
	return c.usage(ctx, nil, start, end, loc)
}

func (c *Client) usage(ctx context.Context, accounts []string, start, end time.Time, loc *time.Location) ([]JobUsage, error) {
	if loc == nil {
		loc = time.Local
	}
	args := []string{"-P", "-n", "-X", "--allusers", "--noconvert", "--truncate",
		"--starttime=" + start.In(loc).Format(sacctTime),
		// sacct's end time is inclusive to the second.
		"--endtime=" + end.Add(-time.Second).In(loc).Format(sacctTime),
		"--format=Account,User,AllocTRES,ElapsedRaw"}
	if len(accounts) > 0 {
		args = append(args, "--accounts="+strings.Join(accounts, ","))
	}
	if c.Cluster != "" {
		args = append(args, "--clusters="+c.Cluster)
	}
	out, err := c.Runner.Run(ctx, "sacct", args...)
	if err != nil {
		return nil, err
	}
	return parseSacct(string(out))
}

func parseSacct(out string) ([]JobUsage, error) {
	var jobs []JobUsage
	for _, line := range lines(out) {
		f := strings.Split(line, "|")
		if len(f) < 4 {
			return nil, fmt.Errorf("slurm: sacct line %q: want 4 fields", line)
		}
		secs, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || secs < 0 || secs > 1<<33 { // 272 years; beyond, Duration overflows
			return nil, fmt.Errorf("slurm: sacct line %q: ElapsedRaw is not a number of seconds", line)
		}
		tres, err := parseTRES(f[2])
		if err != nil {
			return nil, fmt.Errorf("slurm: sacct line %q: %w", line, err)
		}
		jobs = append(jobs, JobUsage{Account: strings.ToLower(f[0]), User: f[1], TRES: tres,
			Elapsed: time.Duration(secs) * time.Second})
	}
	return jobs, nil
}

// parseTRES reads a TRES list such as "billing=2,cpu=2,mem=2G,node=1,
// gres/gpu=1". Memory is in MB; other counts are plain numbers, with
// K/M/G/T suffixes as powers of 1024 (as Slurm prints them).
func parseTRES(s string) (map[string]float64, error) {
	out := make(map[string]float64)
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("TRES %q: want name=value", kv)
		}
		n, err := parseCount(v, k == "mem")
		if err != nil {
			return nil, fmt.Errorf("TRES %q: %w", kv, err)
		}
		out[k] = n
	}
	return out, nil
}

// Unit suffixes: memory is counted in MB, other TRES in units.
var (
	memUnits   = map[byte]float64{'K': 1.0 / 1024, 'M': 1, 'G': 1 << 10, 'T': 1 << 20, 'P': 1 << 30}
	countUnits = map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40, 'P': 1 << 50}
)

func parseCount(v string, mem bool) (float64, error) {
	units := countUnits
	if mem {
		units = memUnits
	}
	mult := 1.0
	if v != "" {
		if m, ok := units[v[len(v)-1]]; ok {
			mult, v = m, v[:len(v)-1]
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return 0, fmt.Errorf("%q is not a count", v)
	}
	return n * mult, nil
}

// parseTRESList reads a TRES limit list such as GrpTRESMins'
// "cpu=6000,mem=100"; "" is no limits.
func parseTRESList(s string) (map[string]int64, error) {
	m, err := parseTRES(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out, nil
}
