// Package hello is a tiny Lambda handler used by the lambdabuild tests.
package hello

import (
	"context"
	"errors"

	"example.com/root/libs/greet"
)

// Request is the event the handler accepts.
type Request struct {
	Name string `json:"name"`
}

// Response is what the handler returns.
type Response struct {
	Greeting string `json:"greeting"`
	Function string `json:"function"`
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
	if req.Name == "" {
		return Response{}, ErrNoName
	}
	return Response{Greeting: greet.Greeting(h.Prefix, req.Name), Function: h.Function}, nil
}
