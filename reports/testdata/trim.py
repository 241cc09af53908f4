# Thins a real trial's ledger to every k-th write (plus every write that did
# not succeed), renumbers the ids densely and maps final.json onto them.
import json, sys, os
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst, exist_ok=True)
lines = open(os.path.join(src, 'ledger.jsonl')).read().splitlines()
outcome = {}
for l in lines:
    r = json.loads(l)
    if r['t'] in ('ok', 'fail', 'unk'):
        outcome[r['id']] = r['t']
maxid = max(json.loads(l).get('id', 0) for l in lines)
keep = {}
for i in range(1, maxid + 1):
    if i % k == 0 or outcome.get(i) != 'ok':
        keep[i] = len(keep) + 1
with open(os.path.join(dst, 'ledger.jsonl'), 'w') as f:
    for l in lines:
        r = json.loads(l)
        if 'id' in r:
            if r['id'] not in keep:
                continue
            r['id'] = keep[r['id']]
            l = json.dumps(r, separators=(',', ':'))
        f.write(l + '\n')
fs = json.load(open(os.path.join(src, 'final.json')))
for inst in fs['instances']:
    ids = set()
    for rg in inst.get('present') or []:
        ids.update(range(rg['first'], rg['last'] + 1))
    extra = sorted(i for i in ids if i > maxid)
    new = sorted([keep[i] for i in ids if i in keep] + [len(keep) + (i - maxid) for i in extra])
    rs = []
    for i in new:
        if rs and rs[-1]['last'] == i - 1:
            rs[-1]['last'] = i
        else:
            rs.append({'first': i, 'last': i})
    inst['present'] = rs
    inst['rows'] = len(new) + sum(d['count'] - 1 for d in inst.get('duplicates') or [] if d['id'] in keep)
    if inst.get('duplicates'):
        inst['duplicates'] = [dict(d, id=keep[d['id']]) for d in inst['duplicates'] if d['id'] in keep]
json.dump(fs, open(os.path.join(dst, 'final.json'), 'w'), indent=2)
for n in ('monitor.jsonl', 'faults.jsonl'):
    p = os.path.join(src, n)
    if os.path.exists(p):
        open(os.path.join(dst, n), 'w').write(open(p).read())
print(dst, len(keep), 'writes kept of', maxid)
