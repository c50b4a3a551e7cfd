#!/usr/bin/env python3
"""Generates random kustomizations (bases, overlays of overlays, components,
namespace, prefixes and suffixes, labels, annotations, strategic-merge,
inline, file and JSON 6902 patches with every target style, $patch
directives, Lists, pods with the fields the rules read, NetworkPolicies) and
compares kwi-lint's rendering with `kubectl kustomize` twice:
- objects: every rendered object's kind, namespace, name, service account,
  Workload Identity annotation and labels (`kwi-lint scopes --objects`);
- findings: kwi-lint on the kustomization vs kwi-lint on kubectl's output
  piped to stdin must say the same things (rule and message, KWI007 aside).

    python3 tools/oracle/kustomize_cases.py [--seed N] [--count N]

Needs kubectl and PyYAML; uses target/release/kwi-lint (or $KWI_LINT). Roots
kubectl cannot build (the generator makes some) are counted, not compared.
"""
import argparse, copy, json, os, random, shutil, subprocess, sys, tempfile
import yaml

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--count", type=int, default=100)
args = ap.parse_args()
R = random.Random(args.seed)
KWI = os.environ.get("KWI_LINT", "target/release/kwi-lint")


def ch(*xs):
    return R.choice(xs)
def maybe(p=0.5):
    return R.random() < p
WI = 'iam.gke.io/gcp-service-account'
def dump(path, docs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(yaml.safe_dump_all(docs, sort_keys=False))
def pod(sa):
    c = {'name': 'app', 'image': 'nginx'}
    env = []
    if maybe(0.3): env.append({'name': 'GCE_METADATA_HOST', 'value': ch('169.254.169.254', '10.0.0.1', 'metadata.google.internal')})
    if maybe(0.2): env.append({'name': 'GOOGLE_APPLICATION_CREDENTIALS', 'value': '/var/key.json'})
    if maybe(0.3): env.append({'name': 'OTHER', 'value': 'x'})
    if env: c['env'] = env
    spec = {'containers': [c]}
    if maybe(0.2): spec['containers'].append({'name': 'side', 'image': 'busybox'})
    if maybe(0.15): spec['hostNetwork'] = True
    if maybe(0.15): spec['dnsPolicy'] = ch('None', 'Default', 'ClusterFirst')
    if maybe(0.1): spec['hostAliases'] = [{'ip': '10.1.1.1', 'hostnames': ['metadata.google.internal']}]
    if maybe(0.2): spec['initContainers'] = [{'name': 'wait', 'image': 'curl', 'command': ['sh', '-c', 'curl -s -H Metadata-Flavor:Google http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token']}]
    if sa: spec['serviceAccountName'] = sa
    return spec
def workload(kind, name, sa, ns=None):
    md = {'name': name}
    if ns: md['namespace'] = ns
    lab = {'app': name}
    if kind == 'Pod':
        md['labels'] = lab
        return {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': md, 'spec': pod(sa)}
    tmpl = {'metadata': {'labels': lab}, 'spec': pod(sa)}
    if maybe(0.3): tmpl['metadata']['annotations'] = {'sidecar.istio.io/inject': 'true', 'traffic.sidecar.istio.io/excludeOutboundIPRanges': ch('169.254.169.254/32', '10.0.0.0/8')}
    if kind == 'CronJob':
        return {'apiVersion': 'batch/v1', 'kind': kind, 'metadata': md, 'spec': {'schedule': '* * * * *', 'jobTemplate': {'spec': {'template': tmpl}}}}
    if kind == 'Job':
        return {'apiVersion': 'batch/v1', 'kind': kind, 'metadata': md, 'spec': {'template': tmpl}}
    api = 'apps/v1'
    return {'apiVersion': api, 'kind': kind, 'metadata': md, 'spec': {'selector': {'matchLabels': lab}, 'template': tmpl}}
def sa(name, gsa=None, ns=None):
    md = {'name': name}
    if ns: md['namespace'] = ns
    if gsa: md['annotations'] = {WI: gsa}
    return {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': md}
def rb(kind, name, subjects, role):
    md = {'name': name}
    return {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': kind, 'metadata': md,
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole' if kind == 'ClusterRoleBinding' or maybe() else 'Role', 'name': role},
            'subjects': subjects}
def base(d):
    docs = []
    names = [ch('app', 'web', 'api', 'worker')]
    sas = []
    for i in range(R.randint(1, 3)):
        n = ch('app-sa', 'web', 'runner', 'default', 'ksa') + ('' if i == 0 else str(i))
        if n in sas: continue
        sas.append(n)
        docs.append(sa(n, ch(None, 'gsa@p-1234.iam.gserviceaccount.com', 'other@p-1234.iam.gserviceaccount.com'), ch(None, None, 'team-a')))
    kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']
    for i in range(R.randint(1, 3)):
        n = ch('app', 'web', 'api', 'worker') + str(i)
        docs.append(workload(ch(*kinds), n, ch(None, *sas, 'missing'), ch(None, None, 'team-a')))
    if maybe(0.4):
        docs.append({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'Role', 'metadata': {'name': 'reader'} | ({'namespace': 'team-a'} if maybe(0.3) else {}), 'rules': []})
    if maybe(0.3):
        docs.append({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'cr-reader'}, 'rules': []})
    for b in range(R.randint(0, 2)):
        subj = []
        for _ in range(R.randint(1, 3)):
            k = ch('ServiceAccount', 'ServiceAccount', 'User', 'Group')
            if k == 'ServiceAccount':
                x = {'kind': k, 'name': ch(*sas, 'ghost')}
                if maybe(0.6):
                    x['namespace'] = ch('team-a', 'default', 'other', '')
            else:
                x = {'kind': k, 'name': ch('alice@example.com', 'system:serviceaccount:team-a:web', 'devs@example.com'), 'apiGroup': 'rbac.authorization.k8s.io'}
            subj.append(x)
        kind = ch('RoleBinding', 'ClusterRoleBinding')
        binding = rb(kind, f'bind{b}', subj, ch('view', 'reader', 'cr-reader', 'edit'))
        if kind == 'RoleBinding' and maybe(0.3):
            binding['metadata']['namespace'] = ch('team-a', 'other')
        docs.append(binding)
    if maybe(0.3):
        docs.append({'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'team-a'}})
    if maybe(0.4):
        eg = ch([], [{'to': [{'ipBlock': {'cidr': '169.254.169.252/30'}}], 'ports': [{'port': 988, 'protocol': 'TCP'}]}], [{'to': [{'namespaceSelector': {}}]}], [{'ports': [{'port': 53, 'protocol': 'UDP'}]}])
        docs.append({'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy', 'metadata': {'name': 'deny'}, 'spec': {'podSelector': {}, 'policyTypes': ['Egress'], 'egress': eg}})
    files = []
    if maybe():
        if maybe(0.3): dump(f'{d}/all.yaml', [{'apiVersion': 'v1', 'kind': 'List', 'items': docs}])
        else: dump(f'{d}/all.yaml', docs)
        files = ['all.yaml']
    else:
        for i, doc in enumerate(docs):
            fn = f"{doc['kind'].lower()}-{i}.yaml"; dump(f'{d}/{fn}', [doc]); files.append(fn)
    return docs, files
def transforms(k, docs):
    if maybe(0.5): k['namespace'] = ch('prod', 'team-a', 'staging')
    if maybe(0.4): k['namePrefix'] = ch('p-', 'x-')
    if maybe(0.3): k['nameSuffix'] = ch('-v2', '-s')
    if maybe(0.3): k['commonLabels'] = {'env': ch('prod', 'dev')}
    if maybe(0.3):
        l = {'pairs': {'tier': ch('a', 'b')}, 'includeSelectors': maybe()}
        if maybe(0.4): l['includeTemplates'] = maybe()
        k['labels'] = [l]
    if maybe(0.2): k['commonAnnotations'] = {ch('note', WI): 'x@p-1234.iam.gserviceaccount.com'}
def patches(d, k, docs):
    ps = []
    for doc in docs:
        if not maybe(0.35): continue
        kind = doc['kind']; name = doc['metadata']['name']
        if kind == 'ServiceAccount':
            body = {'apiVersion': 'v1', 'kind': kind, 'metadata': {'name': name, 'annotations': {WI: ch('patched@p-1234.iam.gserviceaccount.com', None)}}}
            if body['metadata']['annotations'][WI] is None:
                body['metadata']['annotations'][WI] = 'z@p-1234.iam.gserviceaccount.com'
        elif kind in ('Deployment', 'StatefulSet', 'DaemonSet', 'Job'):
            ps_ = ch({'serviceAccountName': ch('app-sa', 'patched-sa', 'web')},
                     {'containers': [{'name': 'app', 'env': [{'name': 'GCE_METADATA_HOST', 'value': ch('169.254.169.254', '10.9.9.9')}]}]},
                     {'containers': [{'name': 'app', 'env': [{'name': 'GCE_METADATA_HOST', '$patch': 'delete'}]}]},
                     {'hostNetwork': ch(True, False)},
                     {'dnsPolicy': 'None'},
                     {'initContainers': [{'name': 'wait', '$patch': 'delete'}]},
                     {'containers': [{'name': 'new', 'image': 'x', 'env': [{'name': 'GOOGLE_APPLICATION_CREDENTIALS', 'value': '/k.json'}]}]})
            body = {'apiVersion': doc['apiVersion'], 'kind': kind, 'metadata': {'name': name}, 'spec': {'template': {'spec': ps_}}}
            if maybe(0.2): body['spec']['template']['metadata'] = {'annotations': {'traffic.sidecar.istio.io/excludeOutboundIPRanges': ch('169.254.169.254/32', '')}}
        elif kind == 'CronJob':
            body = {'apiVersion': doc['apiVersion'], 'kind': kind, 'metadata': {'name': name}, 'spec': {'jobTemplate': {'spec': {'template': {'spec': {'serviceAccountName': 'patched-sa'}}}}}}
        elif kind == 'Pod':
            body = {'apiVersion': 'v1', 'kind': kind, 'metadata': {'name': name}, 'spec': {'serviceAccountName': 'patched-sa'}}
        else:
            continue
        if 'namespace' in doc['metadata'] and maybe(0.7): body['metadata']['namespace'] = doc['metadata']['namespace']
        if maybe(0.08): body = {'apiVersion': doc['apiVersion'], 'kind': kind, 'metadata': dict(body['metadata']), '$patch': 'delete'}; body['metadata'].pop('annotations', None)
        elif maybe(0.05) and kind == 'ServiceAccount': body = {'apiVersion': 'v1', 'kind': kind, 'metadata': {'name': name, 'labels': {'replaced': 'yes'}}, '$patch': 'replace'}
        style = R.randrange(4)
        fn = f'patch-{len(ps)}.yaml'
        if style == 0:
            dump(f'{d}/{fn}', [body]); k.setdefault('patchesStrategicMerge', []).append(fn)
        elif style == 1:
            dump(f'{d}/{fn}', [body]); k.setdefault('patches', []).append({'path': fn})
        elif style == 2:
            k.setdefault('patches', []).append({'patch': yaml.safe_dump(body, sort_keys=False)})
        else:
            # JSON 6902 on the pod spec's serviceAccountName or the SA annotation, by target
            if kind == 'ServiceAccount':
                ops = [{'op': 'add', 'path': '/metadata/annotations', 'value': {WI: 'json@p-1234.iam.gserviceaccount.com'}}]
            elif kind == 'Pod':
                ops = [{'op': 'add', 'path': '/spec/serviceAccountName', 'value': 'json-sa'}]
            elif kind == 'CronJob':
                ops = [{'op': 'add', 'path': '/spec/jobTemplate/spec/template/spec/serviceAccountName', 'value': 'json-sa'}]
            else:
                ops = ch([{'op': 'replace' if maybe() else 'add', 'path': '/spec/template/spec/serviceAccountName', 'value': 'json-sa'}],
                         [{'op': 'add', 'path': '/spec/template/spec/containers/0/env', 'value': [{'name': 'GCE_METADATA_HOST', 'value': '10.2.2.2'}]}],
                         [{'op': 'add', 'path': '/spec/template/spec/hostNetwork', 'value': True}],
                         [{'op': 'remove', 'path': '/spec/template/spec/containers/0/env'}])
            tgt = ch({'kind': kind, 'name': name}, {'kind': kind}, {'name': name[:3] + '.*'}, {'labelSelector': 'app=' + name}, {'kind': kind, 'name': name, 'namespace': doc['metadata'].get('namespace', 'default')})
            if maybe(0.25):
                g, v = (doc['apiVersion'].split('/') + [None])[:2] if '/' in doc['apiVersion'] else ('', doc['apiVersion'])
                t2 = {'version': v, 'kind': kind, 'name': name}
                if g: t2['group'] = g
                dump(f'{d}/{fn}', [ops]); k.setdefault('patchesJson6902', []).append({'target': t2, 'path': fn})
            elif maybe(0.5):
                k.setdefault('patches', []).append({'target': tgt, 'patch': yaml.safe_dump(ops)})
            else:
                dump(f'{d}/{fn}', [ops]); k.setdefault('patches', []).append({'target': tgt, 'path': fn})
    return ps
def case(root):
    shutil.rmtree(root, ignore_errors=True)
    docs, files = base(f'{root}/base')
    kb = {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization', 'resources': files}
    if maybe(0.5): transforms(kb, docs)
    if maybe(0.3): patches(f'{root}/base', kb, docs)
    import copy
    odocs = copy.deepcopy(docs)
    for dd in odocs:
        if 'namespace' in kb and dd['kind'] not in ('Namespace','ClusterRoleBinding','ClusterRole'): dd['metadata']['namespace'] = kb['namespace']
        dd['metadata']['name'] = kb.get('namePrefix','') + dd['metadata']['name'] + kb.get('nameSuffix','') if dd['kind'] != 'Namespace' else dd['metadata']['name']
    dump(f'{root}/base/kustomization.yaml', [kb])
    for o in range(R.randint(1, 2)):
        ko = {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization', 'resources': ['../../base']}
        transforms(ko, odocs)
        patches(f'{root}/overlays/o{o}', ko, odocs)
        if maybe(0.2):
            comp = {'apiVersion': 'kustomize.config.k8s.io/v1alpha1', 'kind': 'Component'}
            patches(f'{root}/components/c{o}', comp, odocs)
            if maybe(0.4): comp['commonLabels'] = {'comp': 'yes'}
            dump(f'{root}/components/c{o}/kustomization.yaml', [comp])
            ko['components'] = [f'../../components/c{o}']
        dump(f'{root}/overlays/o{o}/kustomization.yaml', [ko])
def nested(root, odocs):
    if not os.path.isdir(f'{root}/overlays/o0') or not maybe(0.3): return
    kn = {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization', 'resources': ['../o0']}
    transforms(kn, odocs)
    dump(f'{root}/overlays/n0/kustomization.yaml', [kn])

def nested(root, odocs):
    if not os.path.isdir(f"{root}/overlays/o0") or not maybe(0.3):
        return
    kn = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["../o0"]}
    transforms(kn, odocs)
    dump(f"{root}/overlays/n0/kustomization.yaml", [kn])


CLUSTER = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def podspec(o):
    k, s = o.get("kind"), o.get("spec") or {}
    if k == "Pod":
        return s
    if k == "CronJob":
        return (((s.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    if k in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return ((s.get("template") or {}).get("spec")) or {}
    return None


def key(kind, ns, name):
    ns = "" if kind in CLUSTER or not ns or ns == "default" else ns
    return (kind, ns, name)


def theirs_objects(out):
    objs = {}
    for o in yaml.safe_load_all(out):
        if not o:
            continue
        md = o.get("metadata") or {}
        ps = podspec(o)
        wi = (md.get("annotations") or {}).get(WI) if o["kind"] == "ServiceAccount" else None
        sa = (ps or {}).get("serviceAccountName") if ps is not None else None
        objs[key(o["kind"], md.get("namespace"), md.get("name"))] = (sa, wi, md.get("labels") or {})
    return objs


def our_objects(scope):
    objs = {}
    for o in scope["rendered"]:
        wi = o["gcp_service_account"] if o["kind"] == "ServiceAccount" else None
        objs[key(o["kind"], o["namespace"], o["name"])] = (o["service_account"], wi, o["labels"] or {})
    return objs


def findings(cmd, stdin=None):
    r = subprocess.run([KWI, "--format", "json"] + cmd, input=stdin, capture_output=True, text=True)
    return {(f["rule"], f["message"]) for f in json.loads(r.stdout)["findings"] if f["rule"] not in ("KWI007", "KWI008")}


def main():
    out = tempfile.mkdtemp(prefix="kwi-kustomize-")
    built = failed = differ = 0
    for i in range(args.count):
        root = f"{out}/c{i:03d}"
        case(root)
        nested(root, [])
        r = subprocess.run([KWI, "scopes", "--objects", "--format", "json", root], capture_output=True, text=True)
        for s in json.loads(r.stdout)["scopes"]:
            if not s["root"]:
                continue
            d = os.path.dirname(s["root"])
            k = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True, env=dict(os.environ, KUBECONFIG="/dev/null"))
            if k.returncode != 0:
                failed += 1
                continue
            built += 1
            theirs, ours = theirs_objects(k.stdout), our_objects(s)
            rendered = findings(["--stdin-filename", "rendered.yaml", "-"], k.stdout)
            direct = findings([d])
            if theirs == ours and rendered == direct:
                continue
            differ += 1
            print("DIFF", d)
            for kk in sorted(set(theirs) | set(ours)):
                if theirs.get(kk) != ours.get(kk):
                    print("   ", kk, "kustomize:", theirs.get(kk), "| kwi-lint:", ours.get(kk))
            for f in sorted(rendered - direct):
                print("    only on kustomize's output:", f[0], f[1][:140])
            for f in sorted(direct - rendered):
                print("    only on the kustomization: ", f[0], f[1][:140])
    print(f"differ {differ} of {built} roots kubectl builds ({failed} it cannot); cases kept in {out}")
    sys.exit(1 if differ else 0)


main()
