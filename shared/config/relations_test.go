package config

import (
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

// The settings of issue 12 in a topology document: the names are a
// contract (README), so they are parsed here as an operator writes them.
func TestParseTopologyRelations(t *testing.T) {
	doc := strings.Replace(goodTopology, `"inviteRedirectUrl":"https://myapps.microsoft.com",`,
		`"existingMembers":"convert","convertDomains":["contoso.com"],
   "mapping":{"displayName":{"source":"displayName"},"manager":{"source":"manager"}},
   "mirrorGroups":["44444444-4444-4444-4444-444444444444"],"groupNamePattern":"{displayName} (Contoso)",`, 1)
	doc = strings.Replace(doc, `"scope":{"excludeDomains":["contractors.contoso.com"]}`,
		`"scope":{"includeGroups":["55555555-5555-5555-5555-555555555555"]}`, 1)
	topo, err := ParseTopology([]byte(doc), galsync.CloudPublic, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := topo.Directions[0]
	if d.ExistingMembers != "convert" || d.ConvertDomains[0] != "contoso.com" || d.MirrorGroups[0] != "44444444-4444-4444-4444-444444444444" ||
		d.GroupNamePattern != "{displayName} (Contoso)" || d.Scope.IncludeGroups[0] != "55555555-5555-5555-5555-555555555555" ||
		d.Mapping["manager"].Source != "manager" || d.InviteRedirectURL != "" {
		t.Fatalf("direction = %+v", d)
	}

	bad := strings.Replace(goodTopology, `"inviteRedirectUrl":"https://myapps.microsoft.com",`,
		`"existingMembers":"adopt","mirrorGroups":["finance"],"groupNamePattern":"{name}",
   "mapping":{"displayName":{"source":"displayName"},"manager":{"constant":"boss"}},`, 1)
	_, err = ParseTopology([]byte(bad), galsync.CloudPublic, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`existingMembers "adopt"`, `mirrorGroups[0] "finance"`, `groupNamePattern "{name}"`, `mapping "manager"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
