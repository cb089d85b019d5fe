# Recomputes every value of ccc.json from its inputs with code independent of
# the Go package: hashlib.scrypt, affine P-256 arithmetic on Python integers,
# and pyca/cryptography's HKDF and AES-CMAC. Run from any directory:
#   python3 internal/spake2plus/testdata/crosscheck_ccc.py
# Not part of go test; written for this package, not copied.
import json, hashlib, os, struct
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
p=0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
n=0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
a=p-3
G=(0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
def add(P,Q):
    if P is None: return Q
    if Q is None: return P
    if P[0]==Q[0] and (P[1]+Q[1])%p==0: return None
    if P==Q: l=(3*P[0]*P[0]+a)*pow(2*P[1],-1,p)%p
    else: l=(Q[1]-P[1])*pow(Q[0]-P[0],-1,p)%p
    x=(l*l-P[0]-Q[0])%p; return (x,(l*(P[0]-x)-P[1])%p)
def mul(k,P):
    R=None
    while k:
        if k&1: R=add(R,P)
        P=add(P,P); k>>=1
    return R
def enc(P): return b'\x04'+P[0].to_bytes(32,'big')+P[1].to_bytes(32,'big')
def dec(b): return (int.from_bytes(b[1:33],'big'),int.from_bytes(b[33:],'big'))
M=dec(bytes.fromhex('04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20'))
N=dec(bytes.fromhex('04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7'))
def lp(b): return struct.pack('<Q',len(b))+b
def cmac(k,m):
    c=CMAC(algorithms.AES(k)); c.update(m); return c.finalize()
for v in json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ccc.json')))['vectors']:
    h=lambda k: bytes.fromhex(v[k])
    z=hashlib.scrypt(h('password'),salt=h('salt'),n=v['N'],r=v['r'],p=v['p'],dklen=80,maxmem=2**30)
    w0=int.from_bytes(z[:40],'big')%(n-1)+1; w1=int.from_bytes(z[40:],'big')%(n-1)+1
    x=int(v['x'],16); y=int(v['y'],16)
    X=add(mul(x,G),mul(w0,M)); Y=add(mul(y,G),mul(w0,N))
    Z=mul(y,add(X,mul(n-w0,M))); V=mul(y,mul(w1,G))
    Z2=mul(x,add(Y,mul(n-w0,N))); V2=mul(w1,add(Y,mul(n-w0,N)))
    assert Z==Z2 and V==V2
    TT=lp(enc(X))+lp(enc(Y))+lp(enc(Z))+lp(enc(V))+lp(w0.to_bytes(32,'big'))
    K=hashlib.sha256(TT).digest()
    kc=HKDF(hashes.SHA256(),32,None,b'ConfirmationKeys'+h('confirmationInfo')).derive(K[:16])
    K1,K2=kc[:16],kc[16:]
    if v['evidence']=='EvidenceOwnShare': M1,M2=cmac(K1,enc(Y)),cmac(K2,enc(X))
    else: M1,M2=cmac(K1,enc(X)),cmac(K2,enc(Y))
    got=dict(w0=w0.to_bytes(32,'big'),w1=w1.to_bytes(32,'big'),L=enc(mul(w1,G)),X=enc(X),Y=enc(Y),Z=enc(Z),V=enc(V),TT=TT,K=K,CK=K[:16],SK=K[16:],K1=K1,K2=K2,M1=M1,M2=M2)
    bad=[k for k in got if got[k].hex()!=v[k]]
    print(v['name'], 'MISMATCH '+str(bad) if bad else 'all 15 values match')
