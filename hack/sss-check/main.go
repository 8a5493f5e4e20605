// sss-check drives the SSS approval-request API (ECL's `sss` v1 service) through the real Go SDK,
// github.com/nttcom/eclcloud/v2: the only client besides terraform-provider-ecl that has this API
// (neither eclcli nor eclsdk does). It logs in as a user of eclcloud would, from the OS_* variables:
//
//	OS_AUTH_URL, OS_USERNAME (or OS_USERID), OS_PASSWORD, OS_PROJECT_ID (or OS_TENANT_ID),
//	OS_USER_DOMAIN_ID / OS_USER_DOMAIN_NAME (or eclcloud's own OS_DOMAIN_ID / OS_DOMAIN_NAME),
//	OS_REGION_NAME (optional: picks the catalog endpoint of that region)
//
// and finds SSS in the token's catalog (service type `sss`, public interface), as ecl.NewSSSV1 does.
//
//	sss-check list [--status S] [--service S]   the approval requests, a JSON array
//	sss-check get ID                            one approval request, a JSON object
//	sss-check update ID STATUS                  approved, denied or cancelled (204: prints nothing)
//
// Output is what eclcloud extracted (its ApprovalRequest struct), as JSON on stdout. On failure it
// prints eclcloud's error on stderr, with the HTTP status and the service's own message (eclcloud's
// text for a 404 or a 409 is only "Resource not found" / "Request conflicted"), and exits 1; a usage
// error exits 2.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/nttcom/eclcloud/v2"
	"github.com/nttcom/eclcloud/v2/ecl"
	"github.com/nttcom/eclcloud/v2/ecl/sss/v1/approval_requests"
)

const usage = `usage:
  sss-check list [--status S] [--service S]
  sss-check get ID
  sss-check update ID STATUS

Drives the SSS approval-request API with eclcloud/v2; credentials from OS_* variables.
`

func main() {
	// eclcloud/v2 logs every request and response body through the standard logger, unconditionally:
	// the password of the token request and the token itself among them. Nothing of it is printed.
	log.SetOutput(io.Discard)
	if len(os.Args) < 2 {
		usageError("a subcommand is required")
	}
	command, args := os.Args[1], os.Args[2:]
	switch command {
	case "list":
		flags := flag.NewFlagSet("list", flag.ContinueOnError)
		flags.SetOutput(os.Stderr)
		status := flags.String("status", "", "only approval requests in this status")
		service := flags.String("service", "", "only approval requests of this service")
		if err := flags.Parse(args); err != nil {
			os.Exit(2)
		}
		if flags.NArg() != 0 {
			usageError("list takes no arguments")
		}
		list(sssClient(), approval_requests.ListOpts{Status: *status, Service: *service})
	case "get":
		if len(args) != 1 {
			usageError("get takes one approval request id")
		}
		get(sssClient(), args[0])
	case "update":
		if len(args) != 2 {
			usageError("update takes an approval request id and a status")
		}
		update(sssClient(), args[0], args[1])
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		usageError(fmt.Sprintf("unknown subcommand %q", command))
	}
}

func list(client *eclcloud.ServiceClient, opts approval_requests.ListOpts) {
	pages, err := approval_requests.List(client, opts).AllPages()
	if err != nil {
		fail("list", err)
	}
	listed, err := approval_requests.ExtractApprovalRequests(pages)
	if err != nil {
		fail("list", err)
	}
	if listed == nil {
		listed = []approval_requests.ApprovalRequest{} // an empty list prints [], not null
	}
	printJSON(listed)
}

func get(client *eclcloud.ServiceClient, id string) {
	approval, err := approval_requests.Get(client, id).Extract()
	if err != nil {
		fail("get "+id, err)
	}
	printJSON(approval)
}

func update(client *eclcloud.ServiceClient, id, status string) {
	result := approval_requests.Update(client, id, approval_requests.UpdateOpts{Status: status})
	if result.Err != nil {
		fail("update "+id, result.Err)
	}
}

// sssClient authenticates and locates SSS v1 in the catalog, as eclcloud's users do.
func sssClient() *eclcloud.ServiceClient {
	opts, err := ecl.AuthOptionsFromEnv()
	if err != nil {
		fail("credentials", err)
	}
	// eclcloud reads the user's domain only from OS_DOMAIN_*; openrc files (and eclcli) name it
	// OS_USER_DOMAIN_*, which terraform-provider-ecl reads too.
	if opts.DomainID == "" && opts.DomainName == "" {
		opts.DomainID = os.Getenv("OS_USER_DOMAIN_ID")
		if opts.DomainID == "" {
			opts.DomainName = os.Getenv("OS_USER_DOMAIN_NAME")
		}
	}
	provider, err := ecl.AuthenticatedClient(opts)
	if err != nil {
		fail("authentication", err)
	}
	client, err := ecl.NewSSSV1(provider, eclcloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")})
	if err != nil {
		fail("service catalog (type sss)", err)
	}
	return client
}

func printJSON(v interface{}) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail("output", err)
	}
	fmt.Printf("%s\n", out)
}

// fail prints eclcloud's error and, for an HTTP error, the status and what the service said
// (unless eclcloud's text already holds the body, as for a 400 or a 403).
func fail(what string, err error) {
	message := err.Error()
	if response, ok := httpError(err); ok {
		message = fmt.Sprintf("%s (HTTP %d)", message, response.Actual)
		body := strings.TrimSpace(string(response.Body))
		if said := serviceMessage(response.Body); body != "" && !strings.Contains(err.Error(), body) {
			message += ": " + said
		}
	}
	fmt.Fprintf(os.Stderr, "sss-check: %s: %s\n", what, message)
	os.Exit(1)
}

// httpError finds the response behind eclcloud's per-status error types, which all embed
// ErrUnexpectedResponseCode but do not expose it through an interface.
func httpError(err error) (eclcloud.ErrUnexpectedResponseCode, bool) {
	var (
		e400  eclcloud.ErrDefault400
		e401  eclcloud.ErrDefault401
		e403  eclcloud.ErrDefault403
		e404  eclcloud.ErrDefault404
		e405  eclcloud.ErrDefault405
		e408  eclcloud.ErrDefault408
		e409  eclcloud.ErrDefault409
		e429  eclcloud.ErrDefault429
		e500  eclcloud.ErrDefault500
		e503  eclcloud.ErrDefault503
		other eclcloud.ErrUnexpectedResponseCode
	)
	switch {
	case errors.As(err, &e400):
		return e400.ErrUnexpectedResponseCode, true
	case errors.As(err, &e401):
		return e401.ErrUnexpectedResponseCode, true
	case errors.As(err, &e403):
		return e403.ErrUnexpectedResponseCode, true
	case errors.As(err, &e404):
		return e404.ErrUnexpectedResponseCode, true
	case errors.As(err, &e405):
		return e405.ErrUnexpectedResponseCode, true
	case errors.As(err, &e408):
		return e408.ErrUnexpectedResponseCode, true
	case errors.As(err, &e409):
		return e409.ErrUnexpectedResponseCode, true
	case errors.As(err, &e429):
		return e429.ErrUnexpectedResponseCode, true
	case errors.As(err, &e500):
		return e500.ErrUnexpectedResponseCode, true
	case errors.As(err, &e503):
		return e503.ErrUnexpectedResponseCode, true
	case errors.As(err, &other):
		return other, true
	}
	return eclcloud.ErrUnexpectedResponseCode{}, false
}

// serviceMessage is the message of an error body: SSS's `cause` or Keystone's `error.message`;
// else the body itself.
func serviceMessage(body []byte) string {
	var parsed struct {
		Cause string `json:"cause"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		if parsed.Cause != "" {
			return parsed.Cause
		}
		if parsed.Error.Message != "" {
			return parsed.Error.Message
		}
	}
	return strings.TrimSpace(string(body))
}

func usageError(message string) {
	fmt.Fprintf(os.Stderr, "sss-check: %s\n%s", message, usage)
	os.Exit(2)
}
