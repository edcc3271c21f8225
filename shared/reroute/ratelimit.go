package reroute

import (
	"context"
	"fmt"
	"time"
)

// Rate allows Max events per Window. Windows are fixed, whole seconds, aligned on
// the Unix epoch, so every instance of the service counts in the same ones.
type Rate struct {
	Max    int
	Window time.Duration
}

// WindowAt returns the window holding now: its start and end.
func (r Rate) WindowAt(now time.Time) (start, end time.Time) {
	secs := max(int64(r.Window/time.Second), 1)
	s := now.Unix() / secs * secs
	return time.Unix(s, 0).UTC(), time.Unix(s+secs, 0).UTC()
}

// Limit is a Rate applied to one subject of one kind (the checks of one route):
// Kind and Subject name its counter, What the events to the caller ("DNS checks
// of this route").
type Limit struct {
	Kind, Subject, What string
	Rate
}

// RateLimiter counts events against limits shared by every instance of the service.
type RateLimiter interface {
	// Take counts one event at now against every limit, all or none. Past a
	// limit it counts none and returns ErrRateLimited(limit, now).
	Take(ctx context.Context, now time.Time, limits ...Limit) error
}

// ErrRateLimited is the refusal of an event past l at now: CodeRateLimited
// "rate_limited", with RetryAfter the rest of l's window in whole seconds (at
// least one).
func ErrRateLimited(l Limit, now time.Time) *Error {
	_, end := l.WindowAt(now)
	wait := max((end.Sub(now)+time.Second-1)/time.Second*time.Second, time.Second)
	return &Error{Code: CodeRateLimited, Reason: "rate_limited",
		Message: fmt.Sprintf("too many %s: at most %d every %s; try again in %d s",
			l.What, l.Max, seconds(l.Window), int(wait/time.Second)),
		RetryAfter: wait}
}

func seconds(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return fmt.Sprintf("%d s", int(d/time.Second))
}
