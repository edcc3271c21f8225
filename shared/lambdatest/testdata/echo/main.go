// Command echo is a Lambda function for lambdatest's own tests. It answers an
// event with the event; {"fail": "..."} is answered with that error,
// {"exit": n} ends the process with status n, and {"spawn": true} starts a
// long sleep that keeps the function's output open and answers the sleep's
// process id.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Fail  string `json:"fail"`
	Exit  *int   `json:"exit"`
	Spawn bool   `json:"spawn"`
}

func main() {
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		switch {
		case ev.Fail != "":
			return nil, errors.New(ev.Fail)
		case ev.Exit != nil:
			os.Exit(*ev.Exit)
		case ev.Spawn:
			cmd := exec.Command("sleep", "3600")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return map[string]int{"pid": cmd.Process.Pid}, nil
		}
		return raw, nil
	})
}
