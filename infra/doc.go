// Package infra is galsync's deployment: the Terraform configuration in the
// .tf files beside this one (docs/deploy.md tells how to apply it), and the
// Go tests that hold it to the code: every app setting the code reads is set
// here or documented as an input, every setting set here is read, the
// Service Bus queues are the ones the functions use, and the Cosmos DB
// containers are the store adapter's.
//
// `make infra-check` (scripts/infra-check.sh) validates the configuration
// itself against the providers' schemas and runs tests/*.tftest.hcl with
// mock providers, which hold the planned values to tests/testdata/code.json:
// the facts of the code that codefacts_test.go writes down and keeps
// current. infra/packaging builds the package the Function App runs.
package infra
