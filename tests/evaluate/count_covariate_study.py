"""One-off study quoted in count_model's docstring (not collected by pytest): size at 5 % of
count_model's candidate tests with a baseline covariate or with lognormal (non-gamma) mixing.

Run: PYTHONPATH=. python tests/evaluate/count_covariate_study.py 4000 cov
     PYTHONPATH=. python tests/evaluate/count_covariate_study.py 4000 lognormal
("plain" repeats the no-covariate NB study of test_count_calibration.py with IRLS fits.)
Batched IRLS (Poisson), alternating IRLS / ML theta (NB2) for every trial at once.
"""
# ruff: noqa: E501, E701, E702
import math
import sys
import warnings

import numpy as np
from scipy import special, stats


def pois_fit(y, X, iters=30):
    R, n, p = X.shape
    b = np.zeros((R, p)); b[:, 0] = np.log(np.maximum(y.mean(1), 1e-3))
    for _ in range(iters):
        mu = np.exp(np.clip(np.einsum("rnp,rp->rn", X, b), -30, 30))
        H = np.einsum("rnp,rn,rnq->rpq", X, mu, X)
        s = np.einsum("rnp,rn->rp", X, y - mu)
        st = np.linalg.solve(H + 1e-12*np.eye(p), s[..., None])[..., 0]
        b = b + np.clip(st, -3, 3)
    mu = np.exp(np.clip(np.einsum("rnp,rp->rn", X, b), -30, 30))
    return b, mu

def theta_ml(y, mu, t0=None, iters=40):
    lt = np.zeros(y.shape[0]) if t0 is None else np.log(t0)
    for _ in range(iters):
        t = np.exp(lt)[:, None]
        sc = (special.digamma(y + t) - special.digamma(t) + np.log(t) + 1 - np.log(t + mu) - (y + t)/(t + mu)).sum(1)
        h = (special.polygamma(1, y + t) - special.polygamma(1, t) + 1/t - 2/(t+mu) + (y+t)/(t+mu)**2).sum(1)
        e = np.exp(lt); g1 = e*sc; g2 = e*sc + e*e*h
        step = np.where(g2 < 0, -g1/np.where(g2 < 0, g2, 1), np.sign(g1)*0.5)
        lt = np.clip(lt + np.clip(step, -1, 1), -9, 14)
    return np.exp(lt)

def nb_fit(y, X, outer=25):
    b, mu = pois_fit(y, X)
    th = theta_ml(y, mu)
    for _ in range(outer):
        for _ in range(3):
            w = mu/(1 + mu/th[:, None])
            H = np.einsum("rnp,rn,rnq->rpq", X, w, X)
            s = np.einsum("rnp,rn->rp", X, (y - mu)/(1 + mu/th[:, None]))
            b = b + np.clip(np.linalg.solve(H + 1e-12*np.eye(X.shape[2]), s[..., None])[..., 0], -3, 3)
            mu = np.exp(np.clip(np.einsum("rnp,rp->rn", X, b), -30, 30))
        th = theta_ml(y, mu, th, iters=15)
    w = mu/(1 + mu/th[:, None])
    V = np.linalg.inv(np.einsum("rnp,rn,rnq->rpq", X, w, X))
    return b, mu, th, V

def nbll(y, mu, t):
    t = t[:, None]
    return (special.gammaln(y+t) - special.gammaln(t) - special.gammaln(y+1) + t*np.log(t/(t+mu)) + y*np.log(np.maximum(mu, 1e-300)/(t+mu))).sum(1)

def tests(y, X, j=1):
    """dict name -> (estimate, se, df) or p-values for the coefficient j."""
    R, n, p = X.shape
    b, mu = pois_fit(y, X)
    B = np.linalg.inv(np.einsum("rnp,rn,rnq->rpq", X, mu, X))
    h = mu*np.einsum("rnp,rpq,rnq->rn", X, B, X)
    e2 = (y - mu)**2
    out = {}
    def hc(om):
        V = np.einsum("rpq,rnq,rn,rns,rst->rpt", B, X, om, X, B)
        return np.sqrt(V[:, j, j])
    out["poisson HC3, normal (old default)"] = (b[:, j], hc(e2/(1-h)**2), math.inf)
    out["poisson HC3, t(n-p)"] = (b[:, j], hc(e2/(1-h)**2), n - p)
    out["poisson HC2, t(n-p)"] = (b[:, j], hc(e2/(1-h)), n - p)
    phi = (e2/mu).sum(1)/(n - p)
    out["quasi-Poisson, t(n-p)"] = (b[:, j], np.sqrt(phi*B[:, j, j]), n - p)
    bn, mun, th, Vn = nb_fit(y, X)
    out["negative binomial Wald, normal"] = (bn[:, j], np.sqrt(Vn[:, j, j]), math.inf)
    out["negative binomial Wald, t(n-p)"] = (bn[:, j], np.sqrt(Vn[:, j, j]), n - p)
    phin = ((y - mun)**2/(mun + mun**2/th[:, None])).sum(1)/(n - p)
    out["NB, Pearson-scaled, t(n-p)"] = (bn[:, j], np.sqrt(phin*Vn[:, j, j]), n - p)
    out["NB, Pearson-scaled (>=1), t(n-p)"] = (bn[:, j], np.sqrt(np.maximum(phin, 1)*Vn[:, j, j]), n - p)
    X0 = np.delete(X, j, axis=2)
    b0, mu0, th0, _ = nb_fit(y, X0)
    lr = np.maximum(2*(nbll(y, mun, th) - nbll(y, mu0, th0)), 0)
    out["negative binomial LR, chi2(1)"] = ("p", stats.chi2.sf(lr, 1))
    out["negative binomial LR, F(1, n-p)"] = ("p", stats.f.sf(lr, 1, n - p))
    return out, b[:, j]

def pvals(t):
    if isinstance(t[0], str): return t[1]
    est, se, df = t
    with np.errstate(all="ignore"):
        z = np.abs(est/se)
        p = 2*stats.norm.sf(z) if not np.isfinite(df) else 2*stats.t.sf(z, df)
    return p

if __name__ == "__main__":
    R = int(sys.argv[1]); kind = sys.argv[2]
    for N in (20, 45):
        for th in (0.5, 1.5):
            rng = np.random.default_rng(N + int(10*th))
            z = np.array([rng.permutation(np.repeat([1, 0], [N//2, N - N//2])) for _ in range(R)]).astype(float)
            if kind == "cov":
                base = rng.negative_binomial(1.5, 1.5/(1.5 + 3.0), (R, N)).astype(float)
                lp = 0.8*np.log1p(base); lp = lp - np.log(np.exp(lp).mean()) + np.log(3.0)
                X = np.stack([np.ones((R, N)), z, np.log1p(base)], axis=2)
                m = np.exp(lp)
            else:
                X = np.stack([np.ones((R, N)), z], axis=2); m = np.full((R, N), 3.0)
            if kind == "lognormal":
                s2 = math.log(1 + 1/th); lam = m*np.exp(math.sqrt(s2)*rng.standard_normal((R, N)) - s2/2)
            else:
                lam = rng.gamma(th, m/th)
            y = rng.poisson(lam).astype(float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out, _ = tests(y, X)
            ok = (np.where(z == 1, y, 0).sum(1) > 0) & (np.where(z == 0, y, 0).sum(1) > 0)
            res = {k: np.mean(np.where(ok & np.isfinite(pvals(v)), pvals(v), 1.0) <= 0.05) for k, v in out.items()}
            print(kind, N, th, f"MCSE {math.sqrt(.0475/R):.4f}", " | ".join(f"{k}: {v:.4f}" for k, v in res.items()))
