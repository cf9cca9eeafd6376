// Command galsync keeps the users of one Microsoft Entra ID tenant present,
// current and retired as B2B guests in other tenants. One binary serves
// every Azure Function over the custom-handler protocol (serve), hosts
// itself for local runs (local), and plays a set of tenants for tests and
// demos (sim).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and failed
	exitUsage  = 2 // bad arguments or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError marks errors in how galsync was called or configured.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, context.Canceled) {
		return exitOK
	}
	fmt.Fprintln(stderr, "galsync:", err)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailed
}

const usage = `galsync keeps Entra ID users present, current and retired as B2B guests in other tenants.

Usage:
  galsync serve     serve the functions to the Azure Functions host (custom handler)
  galsync local     run everything on this machine: the functions, their timers and queues
  galsync sim       run the tenant simulator (a stand-in for Microsoft Graph and Entra sign-in)

Operations (same configuration as the functions; each has --help with examples):
  galsync provision provision one user now and show each step
  galsync plan      preview what a full sync would do, writing nothing
  galsync log       read the provisioning log: what happened to a user
  galsync approve   release (or discard) deprovisions held by the deletion threshold
  galsync dlq       list, show, replay or purge parked and dead-lettered messages
  galsync status    how each direction is doing, and what needs an operator
  galsync help      show this text

Under the Functions host (FUNCTIONS_CUSTOMHANDLER_PORT set), no subcommand means serve.
Configuration comes from GALSYNC_* settings; see README.md and local.settings.sample.json.

Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
`

// run is the real main: everything it needs is passed in, so tests run the
// whole program in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	} else if getenv("FUNCTIONS_CUSTOMHANDLER_PORT") != "" {
		cmd = "serve"
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "local":
		return local(ctx, args, getenv, stdout, stderr)
	case "sim":
		return simulate(ctx, args, stdout, stderr)
	case "provision":
		return provisionCommand(ctx, args, getenv, stdout, stderr)
	case "plan":
		return planCommand(ctx, args, getenv, stdout, stderr)
	case "log":
		return logCommand(ctx, args, getenv, stdout, stderr)
	case "approve":
		return approveCommand(ctx, args, getenv, stdout, stderr)
	case "dlq":
		return dlqCommand(ctx, args, getenv, stdout, stderr)
	case "status":
		return statusCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "":
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}
