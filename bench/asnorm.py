"""Adaptive score normalisation (AS-norm) measured on lfw-dev's strangers protocol, before building it.

    .venv/bin/python bench/asnorm.py          # after bench/embedders.py has cached the vectors

Cohort: the enrolled faces themselves. For probe p and enrolled face g with cosine s:
s' = ½((s − μp)/σp + (s − μg)/σg), μ/σ over the top-K similarities of p (resp. g) to the cohort. Prints EER and
FRR at 1% of strangers named, raw and normalised, per embedder and K, averaged over 5 seeds.
"""
import math
import os
import sys

import numpy as np
sys.path.insert(0,'bench'); os.environ.setdefault('DJANGO_SETTINGS_MODULE','faceapp.settings')
import django; django.setup()
from embedders import embed_dataset
from pathlib import Path
from recognition import evaluation as E
ds = embed_dataset(Path('/work/shared/data/lfw-dev'), ['facenet-ms1m+flip','facenet','arcface-mbf'], Path('var/bench'))
for name, d in ds.items():
  for K in (50, 100, 200):
    res=[]
    for seed in range(5):
        with_faces = [i for i in range(len(d.people)) if d.faces_of(i)]
        order = np.random.default_rng(seed).permutation(len(with_faces))
        enrolled = sorted(with_faces[k] for k in order[: math.ceil(len(with_faces) / 2)])
        strangers = sorted(set(with_faces) - set(enrolled))
        G = np.array([d.faces_of(i)[0] for i in enrolled])
        P=[];T=[]
        for i in enrolled:
            if len(d.faces_of(i))>=2: P.append(d.faces_of(i)[1]); T.append(i)
        for i in strangers: P += d.faces_of(i); T += [-1]*len(d.faces_of(i))
        P=np.array(P); T=np.array(T); ids=np.array(enrolled)
        S = P@G.T
        GG = G@G.T; np.fill_diagonal(GG, -np.inf)
        k=min(K, len(G)-1)
        topg = -np.sort(-GG,axis=1)[:,:k]; mg, sg = topg.mean(1), topg.std(1)
        topp = -np.sort(-S,axis=1)[:,:k]; mp, sp = topp.mean(1), topp.std(1)
        N = 0.5*((S-mp[:,None])/sp[:,None] + (S-mg[None,:])/sg[None,:])
        for label, M in (('raw',S),('asnorm',N)):
            best=M.argmax(1); sim=M[np.arange(len(best)),best]
            s=E.Searches(ids,T,ids[best],sim)
            m,o=s.mated_scores(), s.stranger_scores(); e=E.equal_error(m,o)
            res.append((label,(e.frr+e.far)/2, E.at_far(m,o,0.01).frr))
    for label in ('raw','asnorm'):
        r=np.array([x[1:] for x in res if x[0]==label]).mean(0)
        print(name, 'K',K, label, 'EER %.1f%% FRR@1%% %.1f%%'%(r[0]*100, r[1]*100))
