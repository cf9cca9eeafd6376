package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiles are the pprof profiles a run writes when asked (galsync local
// --cpuprofile / --memprofile): off by default, for finding where a sync
// spends its CPU and allocations (go tool pprof bin/galsync cpu.pprof).
type profiles struct {
	cpu, mem string
	cpuFile  *os.File
}

// start begins CPU profiling if asked.
func (p *profiles) start() error {
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return usageError{fmt.Errorf("--cpuprofile: %w", err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return errors.Join(fmt.Errorf("--cpuprofile: %w", err), f.Close())
	}
	p.cpuFile = f
	return nil
}

// stop ends CPU profiling and writes the allocation profile (every
// allocation since the start, by place), if asked.
func (p *profiles) stop() error {
	var errs []error
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpuFile.Close())
		p.cpuFile = nil
	}
	if p.mem != "" {
		errs = append(errs, writeAllocs(p.mem))
	}
	return errors.Join(errs...)
}

func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	runtime.GC() // the heap figures are those of the last GC
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}
