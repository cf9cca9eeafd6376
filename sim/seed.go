package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// SeedSpec asks for Count generated users, of whom Guests are invited
// guests (creationType Invitation, userType Guest), Disabled have
// accountEnabled false and NoMail have no mail. The three groups are
// disjoint. The same Seed on a fresh tenant gives the same users.
type SeedSpec struct {
	Count    int    `json:"count"`
	Guests   int    `json:"guests"`
	Disabled int    `json:"disabled"`
	NoMail   int    `json:"noMail"`
	Seed     uint64 `json:"seed"`
}

var (
	givenNames = []string{"Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Hedy", "Ivan",
		"Joan", "Ken", "Katherine", "Linus", "Margaret", "Niklaus", "Radia", "Robin", "Shafi", "Tim", "Vint", "Whitfield",
		"Xiao", "Yukihiro", "Zhang", "Amara", "Bjarne", "Chidi", "Dagny", "Emeka"}
	surnames = []string{"Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Dijkstra", "Allen", "Hopper", "Lamarr",
		"Sutherland", "Clarke", "Thompson", "Johnson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Milner", "Goldwasser",
		"Berners-Lee", "Cerf", "Diffie", "Wei", "Matsumoto", "Ming", "Okafor", "Stroustrup", "Eze", "Nilsen", "Obi"}
	jobTitles   = []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Designer", "Director", "Consultant", "Accountant"}
	departments = []string{"Engineering", "Finance", "Sales", "Marketing", "Legal", "Operations", "Research", "Support"}
	places      = []struct{ city, state, country, usage, street, postal string }{
		{"Seattle", "WA", "United States", "US", "1 Microsoft Way", "98052"},
		{"London", "", "United Kingdom", "GB", "2 Kingdom Street", "W2 6BD"},
		{"Dublin", "", "Ireland", "IE", "1 Grand Canal Quay", "D02 XY00"},
		{"Munich", "BY", "Germany", "DE", "Walter-Gropius-Str. 5", "80807"},
		{"Singapore", "", "Singapore", "SG", "182 Cecil Street", "069547"},
	}
	partnerDomains = []string{"fabrikam.example", "tailspin.example", "woodgrove.example"}
)

// SeedUsers adds generated users to a tenant and returns them.
func (s *Server) SeedUsers(tenantID string, spec SeedSpec) ([]User, error) {
	if spec.Count < 0 || spec.Guests < 0 || spec.Disabled < 0 || spec.NoMail < 0 ||
		spec.Guests+spec.Disabled+spec.NoMail > spec.Count {
		return nil, fmt.Errorf("sim: seed: guests, disabled and noMail must fit in count")
	}
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := fnv.New64a()
	h.Write([]byte(t.id))
	rng := rand.New(rand.NewPCG(spec.Seed, h.Sum64()^uint64(t.seeded)))
	roles := rng.Perm(spec.Count)
	out := make([]User, 0, spec.Count)
	now := s.now()
	for k := range spec.Count {
		u := t.generateUser(rng, t.seeded+k+1, roleOf(roles[k], spec))
		rec, err := t.insert(u, now)
		if err != nil {
			return out, fmt.Errorf("sim: seed user %d: %w", k, err)
		}
		out = append(out, rec.user.clone())
	}
	t.seeded += spec.Count
	return out, nil
}

type seedRole int

const (
	roleMember seedRole = iota
	roleGuest
	roleDisabled
	roleNoMail
)

// roleOf spreads the roles by a random permutation, so guests and disabled
// users are scattered through the pages rather than bunched at the start.
func roleOf(slot int, spec SeedSpec) seedRole {
	switch {
	case slot < spec.Guests:
		return roleGuest
	case slot < spec.Guests+spec.Disabled:
		return roleDisabled
	case slot < spec.Guests+spec.Disabled+spec.NoMail:
		return roleNoMail
	default:
		return roleMember
	}
}

func (t *tenant) generateUser(rng *rand.Rand, n int, role seedRole) User {
	given, sur := givenNames[rng.IntN(len(givenNames))], surnames[rng.IntN(len(surnames))]
	p := places[rng.IntN(len(places))]
	nick := strings.ToLower(fmt.Sprintf("%s.%s.%d", given, sur, n))
	company, _, _ := strings.Cut(t.domain, ".")
	u := User{
		ID: guidFrom(rng.Uint64(), rng.Uint64()), DisplayName: given + " " + sur, GivenName: given, Surname: sur,
		JobTitle: jobTitles[rng.IntN(len(jobTitles))], Department: departments[rng.IntN(len(departments))],
		CompanyName: strings.ToUpper(company[:1]) + company[1:], OfficeLocation: fmt.Sprintf("Building %d", 1+rng.IntN(40)),
		City: p.city, State: p.state, Country: p.country, StreetAddress: p.street, PostalCode: p.postal,
		UsageLocation: p.usage, PreferredLanguage: "en-US", MobilePhone: fmt.Sprintf("+1 555 01%02d %04d", rng.IntN(100), n%10000),
		BusinessPhones: []string{fmt.Sprintf("+1 555 02%02d %04d", rng.IntN(100), n%10000)},
		EmployeeID:     fmt.Sprintf("E%06d", n), EmployeeType: "Employee", AccountEnabled: true, UserType: "Member",
		MailNickname: nick, UserPrincipalName: nick + "@" + t.domain, Mail: nick + "@" + t.domain,
	}
	switch role {
	case roleGuest:
		mail := nick + "@" + partnerDomains[rng.IntN(len(partnerDomains))]
		local := strings.ReplaceAll(mail, "@", "_")
		u.Mail, u.OtherMails, u.MailNickname = mail, []string{mail}, local+"#EXT#"
		u.UserPrincipalName = local + "#EXT#@" + t.domain
		u.UserType, u.CreationType, u.ExternalUserState = "Guest", "Invitation", "Accepted"
		u.EmployeeID, u.EmployeeType = "", ""
	case roleDisabled:
		u.AccountEnabled = false
	case roleNoMail:
		u.Mail = ""
	}
	return u
}

// InvalidateDeltaTokens makes every delta and skip token of the tenant
// answer 410 Gone, as Graph does after tenant maintenance.
func (s *Server) InvalidateDeltaTokens(tenantID string) error {
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.epoch++
	t.mu.Unlock()
	return nil
}
