package galsync

import "fmt"

// entraCloud is the Microsoft Entra ID cloud each Cloud signs in to. GCC
// High (usgov) and DoD (usgovdod) are both Azure Government: one sign-in
// authority (login.microsoftonline.us), one token-exchange audience, and
// B2B collaboration between their tenants as within any one cloud; only
// their Graph hosts differ.
//   - "Microsoft Azure Government includes the Office GCC-High and DoD
//     clouds" (https://learn.microsoft.com/entra/external-id/cross-tenant-access-overview#microsoft-cloud-settings)
//   - "Within the Azure US Government cloud, B2B collaboration is enabled
//     between tenants that are both within Azure US Government cloud"
//     (https://learn.microsoft.com/entra/external-id/b2b-government-national-clouds)
//   - one audience, api://AzureADTokenExchangeUSGov, for "Microsoft Entra
//     ID for US Government" (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity)
var entraCloud = map[Cloud]Cloud{
	CloudPublic:   CloudPublic,
	CloudUSGov:    CloudUSGov,
	CloudUSGovDoD: CloudUSGov,
	CloudChina:    CloudChina,
}

// SameEntraCloud reports whether tenants in clouds a and b are in one
// Microsoft Entra ID cloud: then a managed identity of one can sign in to
// the other (as a federated credential), and B2B between them needs no
// Microsoft cloud settings and may address invitations by mail. Otherwise
// they are cross-cloud.
func SameEntraCloud(a, b Cloud) bool {
	ea, okA := entraCloud[a]
	eb, okB := entraCloud[b]
	return okA && okB && ea == eb
}

// B2BPairProblem says why users of a tenant in cloud source cannot become
// B2B users of a tenant in cloud target, or returns nil when they can.
// Across Microsoft clouds, B2B collaboration exists only between the
// commercial cloud and Azure Government, and between the commercial cloud
// and Azure operated by 21Vianet
// (https://learn.microsoft.com/entra/external-id/cross-cloud-settings):
// Azure Government (GCC High, DoD) and the China cloud cannot collaborate.
// Clouds it does not know are left to the caller's own check.
func B2BPairProblem(source, target Cloud) error {
	es, okS := entraCloud[source]
	et, okT := entraCloud[target]
	if !okS || !okT || es == et || es == CloudPublic || et == CloudPublic {
		return nil
	}
	return fmt.Errorf("%s (%s) and %s (%s) cannot collaborate: Microsoft Entra B2B across clouds exists only between the commercial cloud and Azure Government, and between the commercial cloud and the China cloud (https://learn.microsoft.com/entra/external-id/cross-cloud-settings)",
		source, cloudTitle[source], target, cloudTitle[target])
}

// cloudTitle names each cloud as Microsoft's documentation does.
var cloudTitle = map[Cloud]string{
	CloudPublic:   "commercial",
	CloudUSGov:    "Azure Government, GCC High",
	CloudUSGovDoD: "Azure Government, DoD",
	CloudChina:    "Azure operated by 21Vianet",
}
