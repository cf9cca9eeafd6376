package sim

import "slices"

// User is a Microsoft Graph user as the simulator keeps it. JSON names are
// Graph's. Empty strings stand for null: Graph answers null for unset
// properties and refuses empty strings in updates (see userpatch.go).
type User struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName,omitempty"`
	Mail              string   `json:"mail,omitempty"`
	MailNickname      string   `json:"mailNickname,omitempty"`
	OtherMails        []string `json:"otherMails,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`
	DisplayName       string   `json:"displayName,omitempty"`
	GivenName         string   `json:"givenName,omitempty"`
	Surname           string   `json:"surname,omitempty"`
	JobTitle          string   `json:"jobTitle,omitempty"`
	Department        string   `json:"department,omitempty"`
	CompanyName       string   `json:"companyName,omitempty"`
	OfficeLocation    string   `json:"officeLocation,omitempty"`
	City              string   `json:"city,omitempty"`
	Country           string   `json:"country,omitempty"`
	State             string   `json:"state,omitempty"`
	StreetAddress     string   `json:"streetAddress,omitempty"`
	PostalCode        string   `json:"postalCode,omitempty"`
	MobilePhone       string   `json:"mobilePhone,omitempty"`
	BusinessPhones    []string `json:"businessPhones,omitempty"`
	FaxNumber         string   `json:"faxNumber,omitempty"`
	EmployeeID        string   `json:"employeeId,omitempty"`
	EmployeeType      string   `json:"employeeType,omitempty"`
	UsageLocation     string   `json:"usageLocation,omitempty"`
	PreferredLanguage string   `json:"preferredLanguage,omitempty"`
	AccountEnabled    bool     `json:"accountEnabled"`
	UserType          string   `json:"userType,omitempty"`
	// CreationType is "Invitation" for guests an invitation created, null
	// for ordinary cloud users.
	CreationType string `json:"creationType,omitempty"`
	// ExternalUserState is PendingAcceptance or Accepted for invited users.
	ExternalUserState string `json:"externalUserState,omitempty"`
	ShowInAddressList *bool  `json:"showInAddressList,omitempty"`
	CreatedDateTime   string `json:"createdDateTime,omitempty"`
	// OnPremisesSyncEnabled is true for a user Microsoft Entra Connect
	// synchronises from Active Directory, null for a cloud user.
	OnPremisesSyncEnabled *bool `json:"onPremisesSyncEnabled,omitempty"`
	// OnPremisesUserPrincipalName is the on-premises UPN Connect synced.
	OnPremisesUserPrincipalName string `json:"onPremisesUserPrincipalName,omitempty"`
}

func (u User) clone() User {
	u.OtherMails = slices.Clone(u.OtherMails)
	u.ProxyAddresses = slices.Clone(u.ProxyAddresses)
	u.BusinessPhones = slices.Clone(u.BusinessPhones)
	if u.ShowInAddressList != nil {
		v := *u.ShowInAddressList
		u.ShowInAddressList = &v
	}
	if u.OnPremisesSyncEnabled != nil {
		v := *u.OnPremisesSyncEnabled
		u.OnPremisesSyncEnabled = &v
	}
	return u
}

// deriveProxyAddresses keeps proxyAddresses following mail, as Exchange
// stamps the primary SMTP address from it.
func (u *User) deriveProxyAddresses() {
	if u.Mail == "" {
		u.ProxyAddresses = nil
		return
	}
	u.ProxyAddresses = []string{"SMTP:" + u.Mail}
}
