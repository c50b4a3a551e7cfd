#!/usr/bin/env python3
"""Mutates real manifests and asks kubectl which still parse: kwi-lint's
KWI001 must agree on every one (a parse error kwi-lint reports that kubectl
does not is a false positive; the reverse, a miss).

    python3 tools/oracle/yaml_mutations.py [--seed N] [--count N] [DIR...]

DIR defaults to ../shared/corpus. Needs kubectl; uses target/release/kwi-lint
(or $KWI_LINT). Each mutation is one small edit of one line: a tab, a lost
or added colon, dash, quote, anchor, tag, indentation, separator, BOM, CRLF...
Prints every file on which the two disagree, then the count.
"""
import argparse, glob, json, os, random, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--count", type=int, default=500)
ap.add_argument("dirs", nargs="*", default=["../shared/corpus"])
args = ap.parse_args()
random.seed(args.seed)
KWI = os.environ.get("KWI_LINT", "target/release/kwi-lint")

def mutate(t):
    lines = t.split('\n')
    if len(lines) < 3: return None
    i = random.randrange(len(lines))
    l = lines[i]
    k = random.randrange(32)
    ind = len(l) - len(l.lstrip(' '))
    if k == 0: lines[i] = '\t' + l
    elif k == 1: lines[i] = l.replace(':', '', 1)
    elif k == 2: lines.insert(i, l)
    elif k == 3: lines[i] = ' ' + l
    elif k == 4 and ind > 0: lines[i] = l[1:]
    elif k == 5: lines[i] = l + ' "'
    elif k == 6: lines[i] = l.replace(': ', ': @', 1)
    elif k == 7: lines[i] = l.replace(': ', ': `', 1)
    elif k == 8: lines[i] = l.replace(': ', ':', 1)
    elif k == 9: lines[i] = l + ' #c'
    elif k == 10: lines[i] = l + '#c'
    elif k == 11: lines[i] = l.replace('- ', '-', 1)
    elif k == 12: lines[i] = l + ' &a'
    elif k == 13: lines[i] = l.replace(': ', ': *a ', 1)
    elif k == 14: lines[i] = l.replace(': ', ': [', 1)
    elif k == 15: lines[i] = l.replace(': ', ': {', 1)
    elif k == 16: lines.insert(0, '%YAML 1.1')
    elif k == 17: lines[0] = '\ufeff' + lines[0]
    elif k == 18: return '\r\n'.join(lines)
    elif k == 19: lines[i] = l + ' |'
    elif k == 20: lines.insert(i+1, ' '*(ind+2) + '- x')
    elif k == 21: lines[i] = l.replace(': ', ": '", 1)
    elif k == 22: lines[i] = ' '*ind + '? ' + l.lstrip()
    elif k == 23: lines.insert(i, '...')
    elif k == 24: lines[i] = '--- ' + l
    elif k == 25: lines[i] = l.replace(': ', ': !!str ', 1)
    elif k == 26: lines[i] = l.replace(': ', ': !!int ', 1)
    elif k == 27: lines.insert(i, ' '*ind + '<<: *a')
    elif k == 28 and l: j = random.randrange(len(l)); lines[i] = l[:j] + l[j+1:]
    elif k == 29 and l: j = random.randrange(len(l)); lines[i] = l[:j] + l[j] + l[j:]
    elif k == 30: lines[i] = l + '\u2028x'
    elif k == 31: lines[i] = l.replace(': ', ': "\\x', 1) + '"'
    else: return None
    return '\n'.join(lines)

def sources():
    files = []
    for d in args.dirs:
        for ext in ("yaml", "yml"):
            files += glob.glob(os.path.join(d, "**", "*." + ext), recursive=True)
    files.sort()
    random.shuffle(files)
    return files


def kubectl_rejects(files):
    rejected = set()
    for i in range(0, len(files), 200):
        batch = files[i : i + 200]
        cmd = ["kubectl", "create", "--dry-run=client", "--validate=false", "-o", "name"]
        for f in batch:
            cmd += ["-f", f]
        r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, KUBECONFIG="/dev/null"))
        for line in r.stderr.splitlines():
            line = line.removeprefix("error: ")
            if line.startswith("error parsing "):
                rest = line[len("error parsing ") :]
                rejected.update(f for f in batch if rest.startswith(f + ": "))
    return rejected


def main():
    out = tempfile.mkdtemp(prefix="kwi-mutations-")
    files = []
    for p in sources():
        try:
            t = open(p, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError):
            continue
        if "{{" in t or len(t) > 20000 or "\0" in t or "apiVersion" not in t:
            continue
        m = mutate(t)
        if m is None or m == t:
            continue
        f = os.path.join(out, "m%04d.yaml" % len(files))
        open(f, "w", encoding="utf-8").write(m)
        files.append(f)
        if len(files) >= args.count:
            break
    rejected = kubectl_rejects(files)
    r = subprocess.run([KWI, "--format", "json", "--no-ignore"] + files, capture_output=True, text=True)
    ours = {}
    for f in json.loads(r.stdout)["findings"]:
        if f["rule"] == "KWI001":
            ours.setdefault(os.path.abspath(f["file"]), f)
    differ = 0
    for f in files:
        if (f in rejected) != (f in ours):
            differ += 1
            said = ours[f]["message"][:100] if f in ours else "accepts"
            print(f, "kubectl", "rejects" if f in rejected else "accepts", "| kwi-lint:", said)
    print("differ %d of %d (kubectl rejects %d); files kept in %s" % (differ, len(files), len(rejected), out))
    sys.exit(1 if differ else 0)


main()
