// Package functions embeds the Azure Functions definitions (one folder per
// function, each with its function.json) so the binary's local host reads
// the very files the Functions host deploys.
package functions

import "embed"

// FS holds <function-name>/function.json for every function.
//
//go:embed */function.json
var FS embed.FS
