package cosmos_test

import (
	"testing"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/cosmos/cosmostest"
	"github.com/galsync/galsync/shared/store"
	"github.com/galsync/galsync/shared/store/storetest"
)

// TestStoreConformance runs the store port's suite over the wire: every
// subtest on a database of its own, on one stand-in server. A small page
// size makes ListLinks and QueryLog cross page boundaries.
func TestStoreConformance(t *testing.T) {
	conn := cosmostest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, conn, cosmos.Options{PageSize: 50})
	})
}

// env is a getenv over a map.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// openStore opens a store on a fresh database of the server at conn,
// creating its containers, and closes it at cleanup.
func openStore(t testing.TB, conn string, opts cosmos.Options) *cosmos.Store {
	t.Helper()
	cfg, err := cosmos.ConfigFromEnv(env{
		config.CosmosConnection: conn,
		cosmos.DatabaseSetting:  cosmostest.DatabaseName(t),
	}.get)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	opts.EnsureContainers = true
	s, err := cosmos.Open(t.Context(), cfg, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
