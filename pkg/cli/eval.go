package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"

	"github.com/spf13/cobra"
	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/apidefaults"
	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/sigverify"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

type evalOptions struct {
	file       string
	namespace  string
	clusters   []string
	configFile string
	policyDirs []string
	noBuiltin  bool
	output     string
	registry   string
	registryCA string
}

func evalCommand(stdio IO) *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval -f POD.yaml [-n NAMESPACE] [--cluster CLUSTER.yaml ...] [--config CONFIG.yaml] [-o json|yaml|text]",
		Short: "Run the admission pipeline (defaults, then limits, quota and policies) on a Pod or a workload offline",
		Long: `eval runs exactly what the webhooks run, on files instead of a cluster.
The input is a Pod, a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob: its Pods are checked as /validate-workloads does)
or a full AdmissionReview; -f - reads standard input.
Cluster state (Namespaces, LimitRanges, ResourceQuotas with status.used) comes from --cluster files;
workloads in them are the targets of scale subresource reviews.
Exit code: 0 allowed, 1 denied, 2 bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd, o, stdio)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "filename", "f", "", "Pod, workload or AdmissionReview YAML/JSON file; - for standard input (required)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Pod, when its metadata has none")
	f.StringArrayVar(&o.clusters, "cluster", nil, "multi-document YAML of Namespaces, LimitRanges and ResourceQuotas (repeatable)")
	f.StringVar(&o.configFile, "config", "", "Tollgate config file (default: built-in defaults)")
	f.StringArrayVar(&o.policyDirs, "policies", nil, "extra directory of .rego policies, e.g. a working copy (repeatable)")
	f.BoolVar(&o.noBuiltin, "no-builtin-policies", false, "do not load the policies shipped in the binary")
	f.StringVarP(&o.output, "output", "o", "text", "output format: json, yaml or text")
	f.StringVar(&o.registry, "registry", "", "registry fixture for signature checks: an OCI image layout directory or a loopback registry URL answering for every image host")
	f.StringVar(&o.registryCA, "registry-ca", "", "CA file for an https --registry URL")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runEval(cmd *cobra.Command, o evalOptions, stdio IO) error {
	switch o.output {
	case "json", "yaml", "text":
	default:
		return badInput(fmt.Errorf("-o %q: want json, yaml or text", o.output))
	}
	data, source, err := readInput(o.file, stdio.In)
	if err != nil {
		return badInput(err)
	}
	ar, err := admissionRequest(data, o.namespace)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	facts := cluster.NewStatic()
	targets := workload.StaticTargets{}
	for _, path := range o.clusters {
		b, err := os.ReadFile(path)
		if err != nil {
			return badInput(fmt.Errorf("read cluster file: %w", err))
		}
		// Workloads in cluster files are the targets of scale requests.
		rest, found, err := workload.SplitManifests(b)
		if err != nil {
			return badInput(fmt.Errorf("%s: %w", path, err))
		}
		maps.Copy(targets, found)
		if err := facts.AddYAML(rest, path); err != nil {
			return badInput(err)
		}
	}
	st, err := loader.Load(cmd.Context(), loader.Sources{ConfigFile: o.configFile, PolicyDirs: o.policyDirs, NoBuiltinPolicies: o.noBuiltin})
	if err != nil {
		return badInput(err)
	}
	if o.registry != "" {
		reg, err := sigverify.ParseFixture(o.registry, o.registryCA).Open("")
		if err != nil {
			return badInput(err)
		}
		st.Verifier = sigverify.NewChecker(st.Config.VerificationConfig(), reg)
	}
	// The API server defaults every Pod before admission; a file has not been.
	if err := apidefaults.Request(ar); err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	p := pipeline.New(facts, st, pipeline.Options{Targets: targets})
	if ar.Kind.Kind != "Pod" || ar.Kind.Group != "" {
		return evalWorkload(cmd, o, stdio, ar, source, p)
	}
	reviewed, err := p.Review(cmd.Context(), ar)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	out := podOutcome{Outcome: reviewed, Patch: []jsonpatch.JsonPatchOperation{}}
	if reviewed.Changed {
		if out.Patch, err = tgwebhook.Patch(ar.Object.Raw, reviewed.Object); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	if err := printOutcome(stdio.Out, o.output, ar, out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if !out.Allowed {
		return &exitError{code: ExitDenied}
	}
	return nil
}

func readInput(file string, stdin io.Reader) ([]byte, string, error) {
	if file == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read standard input: %w", err)
		}
		return b, "standard input", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read input: %w", err)
	}
	return b, file, nil
}

// admissionRequest accepts a Pod (made into a CREATE request, as kubectl
// apply would send it) or a whole AdmissionReview.
func admissionRequest(data []byte, namespace string) (*admissionv1.AdmissionRequest, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	switch {
	case tm.Kind == "AdmissionReview":
		var review admissionv1.AdmissionReview
		if err := yaml.UnmarshalStrict(data, &review); err != nil {
			return nil, fmt.Errorf("decode AdmissionReview: %w", err)
		}
		if review.Request == nil {
			return nil, errors.New("AdmissionReview has no request")
		}
		if namespace != "" && review.Request.Namespace != namespace {
			return nil, fmt.Errorf("-n %s differs from the review's namespace %q", namespace, review.Request.Namespace)
		}
		return review.Request, nil
	case tm.Kind == "Pod" && (tm.APIVersion == "v1" || tm.APIVersion == ""):
	case tm.Kind != workload.KindScale && workload.Supported(workload.KindOf(tm)):
		return workloadRequest(data, tm, namespace)
	case tm.Kind == "":
		return nil, errors.New("no kind: want a Pod, a workload or an AdmissionReview")
	default:
		return nil, fmt.Errorf("kind %q (apiVersion %q): want a v1 Pod, a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) or an AdmissionReview", tm.Kind, tm.APIVersion)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		return nil, fmt.Errorf("decode Pod: %w", err)
	}
	switch {
	case pod.Namespace == "" && namespace == "":
		return nil, errors.New("the Pod has no metadata.namespace: pass -n NAMESPACE")
	case pod.Namespace == "":
		pod.Namespace = namespace
	case namespace != "" && namespace != pod.Namespace:
		return nil, fmt.Errorf("-n %s differs from the Pod's metadata.namespace %q", namespace, pod.Namespace)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	raw, err := json.Marshal(&pod)
	if err != nil {
		return nil, fmt.Errorf("encode Pod: %w", err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       "eval",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: pod.Namespace,
		Name:      pod.Name,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}, nil
}

// podOutcome is eval's answer for a Pod: the pipeline's outcome and the
// patch the mutating webhook would send.
type podOutcome struct {
	pipeline.Outcome
	Patch []jsonpatch.JsonPatchOperation `json:"patch"`
}

func printOutcome(w io.Writer, format string, ar *admissionv1.AdmissionRequest, out podOutcome) error {
	if format != "text" {
		return writeStructured(w, format, out)
	}
	var b strings.Builder
	name := ar.Name
	if name == "" && out.Object != nil {
		name = out.Object.GenerateName + "*"
	}
	verdictWord := "ALLOWED"
	if !out.Allowed {
		verdictWord = "DENIED"
	}
	fmt.Fprintf(&b, "%s %s pod %q in namespace %q\n", verdictWord, strings.ToLower(string(ar.Operation)), name, ar.Namespace)
	if len(out.Patch) > 0 && out.Object != nil {
		fmt.Fprintf(&b, "  defaults set: %s\n", out.Object.Annotations[defaults.AnnotationDefaulted])
	}
	writeFindings(&b, out.Reasons, out.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

// workloadOutcome is eval's answer for a workload: the same shape as a
// Pod's, with the workload unchanged (the workload webhook never patches).
type workloadOutcome struct {
	Allowed  bool                           `json:"allowed"`
	Object   json.RawMessage                `json:"object,omitempty"`
	Patch    []jsonpatch.JsonPatchOperation `json:"patch"`
	Reasons  []verdict.Reason               `json:"reasons"`
	Warnings []string                       `json:"warnings"`
}

// evalWorkload runs what /validate-workloads runs.
func evalWorkload(cmd *cobra.Command, o evalOptions, stdio IO, ar *admissionv1.AdmissionRequest, source string, p *pipeline.Pipeline) error {
	v, err := p.Review(cmd.Context(), ar)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	out := workloadOutcome{
		Allowed: v.Allowed, Object: json.RawMessage(ar.Object.Raw),
		Patch: []jsonpatch.JsonPatchOperation{}, Reasons: v.Reasons, Warnings: v.Warnings,
	}
	if len(bytes.TrimSpace(ar.Object.Raw)) == 0 {
		out.Object = nil
	}
	if err := printWorkloadOutcome(stdio.Out, o.output, ar, out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if !out.Allowed {
		return &exitError{code: ExitDenied}
	}
	return nil
}

// workloadRequest makes a workload manifest into a CREATE request, as
// kubectl apply would send it.
func workloadRequest(data []byte, tm metav1.TypeMeta, namespace string) (*admissionv1.AdmissionRequest, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", tm.Kind, err)
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	ns, _ := meta["namespace"].(string)
	switch {
	case ns == "" && namespace == "":
		return nil, fmt.Errorf("the %s has no metadata.namespace: pass -n NAMESPACE", tm.Kind)
	case ns == "":
		meta["namespace"] = namespace
		ns = namespace
	case namespace != "" && namespace != ns:
		return nil, fmt.Errorf("-n %s differs from the %s's metadata.namespace %q", namespace, tm.Kind, ns)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", tm.Kind, err)
	}
	gvk := workload.KindOf(tm)
	w, err := workload.Decode(gvk, raw)
	if err != nil {
		return nil, err
	}
	return &admissionv1.AdmissionRequest{
		UID:       "eval",
		Kind:      gvk,
		Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: workload.Resource(gvk.Kind)},
		Namespace: ns,
		Name:      w.Name,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}, nil
}

func printWorkloadOutcome(w io.Writer, format string, ar *admissionv1.AdmissionRequest, out workloadOutcome) error {
	if format != "text" {
		return writeStructured(w, format, out)
	}
	var b strings.Builder
	verdictWord := "ALLOWED"
	if !out.Allowed {
		verdictWord = "DENIED"
	}
	what := strings.ToLower(ar.Kind.Kind)
	if ar.SubResource != "" {
		what = ar.Resource.Resource + "/" + ar.SubResource
	}
	fmt.Fprintf(&b, "%s %s %s %q in namespace %q\n", verdictWord, strings.ToLower(string(ar.Operation)), what, ar.Name, ar.Namespace)
	writeFindings(&b, out.Reasons, out.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeStructured prints an outcome as indented JSON or as YAML.
func writeStructured(w io.Writer, format string, v any) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// writeFindings lists denial reasons (with their field paths) and warnings
// in eval's text output.
func writeFindings(b *strings.Builder, reasons []verdict.Reason, warnings []string) {
	for _, r := range reasons {
		fmt.Fprintf(b, "  denied [%s] %s\n", r.Code, r.Message)
		if r.Path != "" {
			fmt.Fprintf(b, "      at %s\n", r.Path)
		}
	}
	for _, warning := range warnings {
		fmt.Fprintf(b, "  warning: %s\n", warning)
	}
}
