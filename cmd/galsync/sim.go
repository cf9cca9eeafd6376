package main

import (
	"context"
	"io"

	"github.com/galsync/galsync/sim"
)

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sim.Main(ctx, args, stdout, stderr)
}
