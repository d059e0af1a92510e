// Package hello is a tiny Lambda handler used by the lambdabuild tests.
package hello

import (
	"context"
	"errors"
	"os"
	"time"

	"example.com/root/libs/greet"
)

// Request is the event the handler accepts.
type Request struct {
	Name string `json:"name"`
	// SleepMillis makes the handler wait before answering, ignoring its
	// deadline the way a runaway function does, to test timeouts: a
	// handler that returned ctx.Err() at the deadline would race the
	// runtime's own "Task timed out".
	SleepMillis int `json:"sleepMillis"`
	// Env names environment variables to echo back, to test what the
	// function is given.
	Env []string `json:"env"`
}

// Response is what the handler returns.
type Response struct {
	Greeting string `json:"greeting"`
	Function string `json:"function"`
	// Env holds the requested variables that are set.
	Env map[string]string `json:"env,omitempty"`
}

// ErrNoName is returned for an event without a name.
var ErrNoName = errors.New("name is required")

// Handler greets the event's name with a configured prefix.
type Handler struct {
	Prefix   string
	Function string
}

// Handle answers one event.
func (h Handler) Handle(_ context.Context, req Request) (Response, error) {
	if req.SleepMillis > 0 {
		time.Sleep(time.Duration(req.SleepMillis) * time.Millisecond)
	}
	if req.Name == "" {
		return Response{}, ErrNoName
	}
	resp := Response{Greeting: greet.Greeting(h.Prefix, req.Name), Function: h.Function}
	for _, k := range req.Env {
		if v, ok := os.LookupEnv(k); ok {
			if resp.Env == nil {
				resp.Env = make(map[string]string)
			}
			resp.Env[k] = v
		}
	}
	return resp, nil
}
