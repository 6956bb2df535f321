package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Defaults used for zero fields of a Policy.
const (
	DefaultInitial    = 1 * time.Second
	DefaultMax        = 1 * time.Minute
	DefaultMultiplier = 2.0
	DefaultJitter     = 0.2
)

// NoJitter, set as Policy.Jitter, makes delays exact. (Zero means DefaultJitter.)
const NoJitter = -1.0

// Policy describes a jittered, capped exponential backoff. The zero value is
// ready to use: every zero field takes its default. A Policy is a value and is
// safe for concurrent use as long as Rand is.
type Policy struct {
	// Initial is the delay before the first retry (attempt 0).
	// Zero means DefaultInitial.
	Initial time.Duration
	// Max caps every delay. Zero means DefaultMax; a Max below Initial caps
	// Initial too.
	Max time.Duration
	// Multiplier is the growth factor between attempts; values below 1 are
	// treated as 1 (constant delay). Zero means DefaultMultiplier.
	Multiplier float64
	// Jitter is the largest fraction, in [0, 1], by which a delay is randomly
	// shortened: a delay d becomes a uniform value in [d×(1−Jitter), d].
	// Shortening, rather than lengthening, keeps Max a true cap.
	// Zero means DefaultJitter; NoJitter (or any negative value) disables it.
	Jitter float64
	// Rand returns a uniform value in [0, 1). Nil means math/rand/v2.Float64.
	// Tests inject a deterministic source.
	Rand func() float64
}

// Delay returns the delay before retry number attempt, counting from 0.
// Negative attempts count as 0.
func (p Policy) Delay(attempt int) time.Duration {
	initial, maxDelay, mult, jitter := p.params()
	if attempt < 0 {
		attempt = 0
	}
	// Float arithmetic cannot overflow into negative durations the way
	// repeated integer multiplication can; the cap is applied before converting.
	d := float64(initial) * math.Pow(mult, float64(attempt))
	if d > float64(maxDelay) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(maxDelay)
	}
	if jitter > 0 {
		r := rand.Float64
		if p.Rand != nil {
			r = p.Rand
		}
		d -= d * jitter * clamp01(r())
	}
	return time.Duration(d)
}

// params returns the effective settings with defaults applied.
func (p Policy) params() (initial, maxDelay time.Duration, mult, jitter float64) {
	initial, maxDelay, mult, jitter = p.Initial, p.Max, p.Multiplier, p.Jitter
	if initial <= 0 {
		initial = DefaultInitial
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMax
	}
	if initial > maxDelay {
		initial = maxDelay
	}
	switch {
	case mult == 0:
		mult = DefaultMultiplier
	case mult < 1:
		mult = 1
	}
	switch {
	case jitter == 0:
		jitter = DefaultJitter
	case jitter < 0:
		jitter = 0
	case jitter > 1:
		jitter = 1
	}
	return initial, maxDelay, mult, jitter
}

func clamp01(v float64) float64 {
	switch {
	case v < 0 || math.IsNaN(v):
		return 0
	case v > 1:
		return 1
	}
	return v
}

// Sequence walks a Policy attempt by attempt for loops that keep state between
// failures, such as a reconnecting supervisor. The zero Sequence uses the zero
// Policy. A Sequence is not safe for concurrent use.
type Sequence struct {
	Policy  Policy
	attempt int
}

// Next returns the delay before the next retry and advances the sequence.
func (s *Sequence) Next() time.Duration {
	d := s.Policy.Delay(s.attempt)
	if s.attempt < math.MaxInt32 {
		s.attempt++
	}
	return d
}

// Attempt returns how many delays Next has handed out since the last Reset.
func (s *Sequence) Attempt() int { return s.attempt }

// Reset starts the sequence again from Initial, typically after a success.
func (s *Sequence) Reset() { s.attempt = 0 }
