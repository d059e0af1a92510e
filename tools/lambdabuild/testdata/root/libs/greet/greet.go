// Package greet is a local library of the test function; it exists so the
// build cache's key has a local replace directory to follow.
package greet

// Greeting joins prefix and name.
func Greeting(prefix, name string) string { return prefix + " " + name }
