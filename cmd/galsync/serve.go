package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/galsync/galsync/handlers"
	"github.com/galsync/galsync/shared/config"
)

// serve answers the Azure Functions host: it listens on 127.0.0.1 at
// FUNCTIONS_CUSTOMHANDLER_PORT, as the host requires.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: galsync serve\n\nServes the functions to the Azure Functions host on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT.\nThe host starts it (host.json: customHandler.description.arguments = [\"serve\"]).\n")
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	port := getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return usageError{fmt.Errorf("FUNCTIONS_CUSTOMHANDLER_PORT %q is not a port number; the Functions host sets it", port)}
	}
	// On Azure (WEBSITE_INSTANCE_ID, set by the platform) local backends are
	// refused before anything is opened; under a host elsewhere (Core
	// Tools, a test harness) they are a warning.
	onAzure := getenv("WEBSITE_INSTANCE_ID") != ""
	a, err := buildAppChecked(getenv, stderr, func(s config.Settings) error {
		if onAzure {
			return errors.Join(s.FunctionsHostProblems()...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer a.Close()
	localBackends := a.settings.FunctionsHostProblems()
	for _, e := range localBackends {
		a.logger.Warn("serve: a local backend under a Functions host; fine for a test, not for Azure", "problem", e.Error())
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handlers.New(a.deps), ReadHeaderTimeout: 10 * time.Second}
	a.logger.Info("serving functions to the host", "addr", ln.Addr().String())
	err = serveUntilDone(ctx, srv, func() error { return srv.Serve(ln) })
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
