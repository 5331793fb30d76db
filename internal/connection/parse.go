package connection

import (
	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a connection definition for `sluice connection apply -f`, in
// YAML or JSON (told apart by filename). On failure the error is a
// yamlnode.ErrorList holding every problem, in file order, each naming file,
// line and field.
func Parse(filename string, data []byte) (*Connection, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "connection")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := &decoder{yamlnode.NewFileDecoder(filename, yamlnode.Options{StrconvScalars: true})}
	c := d.document(root)
	if c == nil {
		return nil, d.Sorted()
	}
	d.Place(c.validate())
	if len(d.Errs) > 0 {
		return nil, d.Sorted()
	}
	return c, nil
}

var (
	fields            = []string{"name", "kind", "region", "endpoint", "endpoints", "s3PathStyle", "bucket", "credentials", "role", "url", "token", "app", "webhookSecret", "arns"}
	appFields         = []string{"id", "installationId", "privateKeySecret"}
	credentialsFields = []string{"secret", "fromWorker"}
	roleFields        = []string{"arn", "externalId", "sessionName", "durationSeconds"}
)

type decoder struct {
	*yamlnode.FileDecoder
}

func (d *decoder) document(root *yaml.Node) *Connection {
	if root = d.Root(root, "connection"); root == nil {
		return nil
	}
	c := &Connection{}
	d.SetLine("", root.Line)
	for _, f := range d.Mapping(root, "") {
		path := f.Key
		switch f.Key {
		case "name":
			c.Name = d.Str(f.Value, path)
		case "kind":
			c.Kind = d.Str(f.Value, path)
		case "region":
			c.Region = d.Str(f.Value, path)
		case "endpoint":
			c.Endpoint = d.Str(f.Value, path)
		case "endpoints":
			for _, e := range d.Mapping(f.Value, path) {
				if c.Endpoints == nil {
					c.Endpoints = map[string]string{}
				}
				c.Endpoints[e.Key] = d.Str(e.Value, yamlnode.Join(path, e.Key))
			}
		case "s3PathStyle":
			b := d.Bool(f.Value, path)
			c.S3PathStyle = &b
		case "bucket":
			c.Bucket = d.Str(f.Value, path)
		case "credentials":
			for _, e := range d.Mapping(f.Value, path) {
				p := yamlnode.Join(path, e.Key)
				switch e.Key {
				case "secret":
					c.Credentials.Secret = d.Str(e.Value, p)
				case "fromWorker":
					c.Credentials.FromWorker = d.Bool(e.Value, p)
				default:
					d.Unknown(e, p, credentialsFields)
				}
			}
		case "role":
			c.Role = &Role{}
			for _, e := range d.Mapping(f.Value, path) {
				p := yamlnode.Join(path, e.Key)
				switch e.Key {
				case "arn":
					c.Role.ARN = d.Str(e.Value, p)
				case "externalId":
					c.Role.ExternalID = d.Str(e.Value, p)
				case "sessionName":
					c.Role.SessionName = d.Str(e.Value, p)
				case "durationSeconds":
					c.Role.DurationSeconds = d.Int(e.Value, p)
				default:
					d.Unknown(e, p, roleFields)
				}
			}
		case "url":
			c.URL = d.Str(f.Value, path)
		case "token":
			c.Token = d.Str(f.Value, path)
		case "webhookSecret":
			c.WebhookSecret = d.Str(f.Value, path)
		case "arns":
			for i, e := range d.List(f.Value, path) {
				c.ARNs = append(c.ARNs, d.Str(e, yamlnode.Index(path, i)))
			}
		case "app":
			c.App = &App{}
			for _, e := range d.Mapping(f.Value, path) {
				p := yamlnode.Join(path, e.Key)
				switch e.Key {
				case "id":
					c.App.ID = int64(d.Int(e.Value, p))
				case "installationId":
					c.App.InstallationID = int64(d.Int(e.Value, p))
				case "privateKeySecret":
					c.App.PrivateKeySecret = d.Str(e.Value, p)
				default:
					d.Unknown(e, p, appFields)
				}
			}
		default:
			d.Unknown(f, path, fields)
		}
	}
	return c
}
