package cosmos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
)

// Container names.
const (
	ContainerCursors       = "cursors"
	ContainerLinks         = "links"
	ContainerRounds        = "rounds"
	ContainerStates        = "state"
	ContainerSubscriptions = "subscriptions"
	ContainerLog           = "log"
)

// DefaultLogTTL is how long provisioning log entries live when Options
// does not say; it matches GALSYNC_LOG_RETENTION's default.
const DefaultLogTTL = 30 * 24 * time.Hour

// Container is the definition of one container, as data: EnsureContainers
// creates containers from it, Open checks deployed ones against it, and the
// infrastructure tests compare it with Terraform.
type Container struct {
	Name string
	// PartitionKeyPath is the container's (single, hash, version 2)
	// partition key path.
	PartitionKeyPath string
	// DefaultTTL is the container's default time to live; 0 means TTL is
	// off and items never expire. Cosmos DB counts it in whole seconds.
	DefaultTTL time.Duration
}

// Containers returns the definitions of every container the store uses,
// with the log's entries living logTTL (DefaultLogTTL when 0). Why each
// partition key: see the package documentation.
func Containers(logTTL time.Duration) []Container {
	if logTTL <= 0 {
		logTTL = DefaultLogTTL
	}
	return []Container{
		{Name: ContainerCursors, PartitionKeyPath: "/direction"},
		{Name: ContainerLinks, PartitionKeyPath: "/direction"},
		{Name: ContainerRounds, PartitionKeyPath: "/direction"},
		{Name: ContainerStates, PartitionKeyPath: "/direction"},
		{Name: ContainerSubscriptions, PartitionKeyPath: "/tenant"},
		{Name: ContainerLog, PartitionKeyPath: "/direction", DefaultTTL: logTTL},
	}
}

// properties is the container's definition in azcosmos terms.
func (c Container) properties() azcosmos.ContainerProperties {
	p := azcosmos.ContainerProperties{
		ID: c.Name,
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{
			Kind: azcosmos.PartitionKeyKindHash, Paths: []string{c.PartitionKeyPath}, Version: 2,
		},
	}
	if c.DefaultTTL > 0 {
		secs := int32(max(1, c.DefaultTTL/time.Second))
		p.DefaultTimeToLive = &secs
	}
	return p
}

// EnsureContainers creates the database and any missing container (for
// development and tests; production containers come from Terraform), then
// checks every container's partition key against its definition.
func (s *Store) EnsureContainers(ctx context.Context) error {
	_, err := s.client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: s.database}, nil)
	if err != nil && statusCode(err) != http.StatusConflict {
		return fmt.Errorf("cosmos: create database %q: %w", s.database, err)
	}
	db, err := s.client.NewDatabase(s.database)
	if err != nil {
		return fmt.Errorf("cosmos: database %q: %w", s.database, err)
	}
	for _, c := range s.containers {
		_, err := db.CreateContainer(ctx, c.properties(), nil)
		if err != nil && statusCode(err) != http.StatusConflict {
			return fmt.Errorf("cosmos: create container %q: %w", c.Name, err)
		}
	}
	return s.CheckContainers(ctx)
}

// CheckContainers reads every container's definition and fails if one is
// missing or partitioned on another path than the code queries by (the
// queries would still run, and return wrong results or cost a fan-out). It
// reports every such container at once.
func (s *Store) CheckContainers(ctx context.Context) error {
	var errs []error
	for _, c := range s.containers {
		cc, err := s.client.NewContainer(s.database, c.Name)
		if err != nil {
			return fmt.Errorf("cosmos: container %q: %w", c.Name, err)
		}
		resp, err := cc.Read(ctx, nil)
		switch {
		case statusCode(err) == http.StatusNotFound:
			errs = append(errs, fmt.Errorf("container %q of database %q does not exist (deploy it, or call EnsureContainers in development)", c.Name, s.database))
		case err != nil: // unreachable or refused: the same for every container
			return fmt.Errorf("cosmos: check containers: read container %q: %w", c.Name, err)
		case resp.ContainerProperties == nil ||
			!slices.Equal(resp.ContainerProperties.PartitionKeyDefinition.Paths, []string{c.PartitionKeyPath}):
			var got []string
			if resp.ContainerProperties != nil {
				got = resp.ContainerProperties.PartitionKeyDefinition.Paths
			}
			errs = append(errs, fmt.Errorf("container %q is partitioned by %v, want [%s]", c.Name, got, c.PartitionKeyPath))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cosmos: check containers: %w", err)
	}
	return nil
}
