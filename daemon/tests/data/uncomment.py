import re
src=open('/work/main/daemon/tests/data/debian-collectd.conf').read().split('\n')
out=[]
for l in src:
    out.append(re.sub(r'^#([A-Z<\t])', r'\1', l))
stack=[]
for i,l in enumerate(out):
    m=re.match(r'^(\s*)<(/?)(\w+)(.*)$',l)
    if not m: continue
    if m.group(2):
        top=stack.pop()
        if top!=m.group(3):
            out[i]=m.group(1)+'</'+top+'>'
    elif stack and stack[-1]==m.group(3) and m.group(4)=='>':
        out[i]=m.group(1)+'</'+m.group(3)+'>'
        stack.pop()
    else:
        stack.append(m.group(3))
open('/tmp/uncommented.conf','w').write('\n'.join(out))
