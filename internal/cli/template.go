package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/cfntemplate"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// templateFlags are how a CloudFormation template is resolved: its
// parameters, and what only CloudFormation would know of its other
// resources.
type templateFlags struct {
	parameters      []string
	parametersFile  string
	values          []string
	valuesFile      string
	stackName       string
	region, account string
}

func (f *templateFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.parameters, "parameter", nil, "a CloudFormation template's parameter, KEY=VALUE (repeatable)")
	cmd.Flags().StringVar(&f.parametersFile, "parameters-file", "", "a template's parameters: the aws CLI's JSON ([{\"ParameterKey\": K, \"ParameterValue\": V}]), a template configuration file ({\"Parameters\": {K: V}}) or a YAML/JSON mapping; --parameter overrides it")
	cmd.Flags().StringArrayVar(&f.values, "resource-value", nil, "what a template's other resource resolves to: NAME=V for !Ref NAME, NAME.Attr=V for !GetAtt NAME.Attr, import:EXPORT=V for !ImportValue EXPORT (repeatable)")
	cmd.Flags().StringVar(&f.valuesFile, "resource-values", "", "a YAML or JSON file mapping the same keys as --resource-value to their values")
	cmd.Flags().StringVar(&f.stackName, "stack-name", "sluice", "AWS::StackName in a template")
	cmd.Flags().StringVar(&f.region, "aws-region", awsid.DefaultRegion, "AWS::Region in a template")
	cmd.Flags().StringVar(&f.account, "aws-account-id", awsid.DefaultAccount, "AWS::AccountId in a template")
}

func (f *templateFlags) given() bool {
	return len(f.parameters) > 0 || len(f.values) > 0 || f.valuesFile != "" || f.parametersFile != ""
}

func (f *templateFlags) options() (cfntemplate.Options, error) {
	id, err := awsid.New(f.region, f.account)
	if err != nil {
		return cfntemplate.Options{}, err
	}
	o := cfntemplate.Options{Parameters: map[string]string{}, Values: map[string]string{}, StackName: f.stackName, AWS: id}
	if f.parametersFile != "" {
		if err := readParametersFile(f.parametersFile, o.Parameters); err != nil {
			return o, err
		}
	}
	for _, p := range f.parameters {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return o, fmt.Errorf("--parameter %q: write KEY=VALUE", p)
		}
		o.Parameters[k] = v
	}
	if f.valuesFile != "" {
		data, err := os.ReadFile(f.valuesFile)
		if err != nil {
			return o, err
		}
		var m map[string]string
		if err := yaml.Unmarshal(data, &m); err != nil {
			return o, fmt.Errorf("--resource-values %s: a mapping of NAME, NAME.Attr or import:EXPORT to a string: %v", f.valuesFile, err)
		}
		for k, v := range m {
			o.Values[k] = v
		}
	}
	for _, p := range f.values {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return o, fmt.Errorf("--resource-value %q: write NAME=VALUE, NAME.Attr=VALUE or import:EXPORT=VALUE", p)
		}
		o.Values[k] = v
	}
	return o, nil
}

// templatePipeline is one pipeline a template declares, checked, as the
// JSON the API takes.
type templatePipeline struct {
	cfntemplate.Pipeline
	decl *pipeline.Pipeline
	json []byte
}

// readTemplate reports whether data is a CloudFormation template and, if
// so, resolves it and checks each of its pipelines (with checks).
func readTemplate(file string, data []byte, f *templateFlags, checks ...pipeline.Check) (bool, []templatePipeline, error) {
	root, perr := yamlnode.ReadDocument(file, data, "pipeline")
	if perr != nil || !cfntemplate.IsTemplate(root) {
		if f.given() {
			return false, nil, fmt.Errorf("--parameter, --parameters-file, --resource-value and --resource-values are for CloudFormation templates; %s is a pipeline declaration", file)
		}
		return false, nil, nil
	}
	o, err := f.options()
	if err != nil {
		return true, nil, err
	}
	ps, err := cfntemplate.ReadNode(file, root, o)
	if err != nil {
		return true, nil, err
	}
	var out []templatePipeline
	var errs yamlnode.ErrorList
	for _, p := range ps {
		decl, err := cfntemplate.Parse(file, p, checks...)
		if err != nil {
			var l yamlnode.ErrorList
			if ok := asErrorList(err, &l); ok {
				errs = append(errs, l...)
				continue
			}
			return true, nil, err
		}
		doc, err := json.Marshal(pipeline.Document{Pipeline: *decl})
		if err != nil {
			return true, nil, err
		}
		out = append(out, templatePipeline{Pipeline: p, decl: decl, json: doc})
	}
	if len(errs) > 0 {
		errs.SortByLine()
		return true, nil, errs
	}
	return true, out, nil
}

func asErrorList(err error, l *yamlnode.ErrorList) bool {
	el, ok := err.(yamlnode.ErrorList)
	if ok {
		*l = el
	}
	return ok
}

// readParametersFile reads a template's parameters in the forms CloudFormation
// users keep them: the aws CLI's list (create-stack --parameters
// file://FILE), CodePipeline's template configuration file, or a mapping.
func readParametersFile(file string, into map[string]string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var list []struct {
		Key   *string `yaml:"ParameterKey"`
		Value *string `yaml:"ParameterValue"`
	}
	if yaml.Unmarshal(data, &list) == nil && len(list) > 0 {
		for i, p := range list {
			if p.Key == nil || p.Value == nil {
				return fmt.Errorf("--parameters-file %s: item %d: each item needs ParameterKey and ParameterValue", file, i)
			}
			into[*p.Key] = *p.Value
		}
		return nil
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil || m == nil {
		return fmt.Errorf("--parameters-file %s: not a list of {ParameterKey, ParameterValue}, a {\"Parameters\": {...}} file or a mapping", file)
	}
	if inner, ok := m["Parameters"].(map[string]any); ok {
		m = inner
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			into[k] = v
		case int, float64, bool:
			into[k] = fmt.Sprint(v)
		default:
			return fmt.Errorf("--parameters-file %s: %s: a parameter's value is a string, not %T", file, k, v)
		}
	}
	return nil
}
