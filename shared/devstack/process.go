package devstack

import (
	"context"
	"errors"
	"os/exec"
	"time"
)

// pollReady calls ping every interval until it succeeds, the process exits or ctx
// ends. A success counts only while the process still runs: another process may be
// answering on a port that ours failed to bind.
func pollReady(ctx context.Context, every time.Duration, exited <-chan struct{}, exitedEarly func() error,
	ping func(context.Context) error, timedOut func(last error) error) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := ping(ctx)
		if err == nil {
			select {
			case <-exited:
				return exitedEarly()
			default:
				return nil
			}
		}
		select {
		case <-exited:
			return exitedEarly()
		case <-ctx.Done():
			return timedOut(err)
		case <-tick.C:
		}
	}
}

// stopProcess ends a process started by this package: SIGTERM to its group, then
// SIGKILL after 5 s. One that had already died on its own is reported by exitedEarly.
func stopProcess(name string, cmd *exec.Cmd, exited <-chan struct{}, exitedEarly func() error) error {
	select {
	case <-exited:
		return exitedEarly()
	default:
	}
	_ = terminate(cmd)
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = kill(cmd)
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New(name + " did not exit after SIGKILL")
	}
}
