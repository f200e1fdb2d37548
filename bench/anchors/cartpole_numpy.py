"""RUN: /usr/bin/python3 bench/anchors/cartpole_numpy.py [N ...]
Vectorized NumPy CartPole-v1 (the equations of Gymnasium's CartPoleVectorEnv: float64 state arrays, np.cos/np.sin,
np.square), random actions, same-step autoreset of terminated or 500-step-truncated copies, float32 observations —
the NumPy peer of PurePg's CartPoleVectorEnv. Prints env-steps/s as the median of 7 batches of >= 80 ms."""
import sys
import time

import numpy as np

G, MC, MP, L, F, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TM, PML = MP + MC, MP * L
TH, XT = 12 * 2 * np.pi / 360, 2.4


class VecCartPole:
    def __init__(self, n, seed=0):
        self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-0.05, 0.05, size=(4, n))
        self.steps = np.zeros(n, dtype=np.int32)

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = np.where(action == 1, F, -F)
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + PML * np.square(theta_dot) * sintheta) / TM
        thetaacc = (G * sintheta - costheta * temp) / (L * (4.0 / 3.0 - MP * np.square(costheta) / TM))
        xacc = temp - PML * thetaacc * costheta / TM
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * xacc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * thetaacc
        self.state = np.stack((x, x_dot, theta, theta_dot))
        terminated = (x < -XT) | (x > XT) | (theta < -TH) | (theta > TH)
        self.steps += 1
        truncated = self.steps >= 500
        done = terminated | truncated
        if done.any():
            self.final_obs = self.state.T.astype(np.float32)  # before the reset: V(s_final) for truncated copies
            self.state[:, done] = self.rng.uniform(-0.05, 0.05, size=(4, int(done.sum())))
            self.steps[done] = 0
        reward = np.ones(x.shape, dtype=np.float32)
        return self.state.T.astype(np.float32), reward, terminated, truncated


def bench(n):
    env = VecCartPole(n)
    actions = np.random.default_rng(1).integers(0, 2, size=(256, n))
    k = 0
    for _ in range(200):
        env.step(actions[k % 256]); k += 1
    per_batch = max(1, int(2_000_000 / (n + 50)))
    rates = []
    for _ in range(7):
        t0 = time.perf_counter(); steps = 0
        while True:
            for _ in range(per_batch):
                env.step(actions[k % 256]); k += 1
            steps += per_batch
            if time.perf_counter() - t0 >= 0.08: break
        rates.append(steps * n / (time.perf_counter() - t0))
    rates.sort()
    return rates[3], rates[0], rates[-1]


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [1, 64, 1024]
    print("| variant | envs | env steps/s median | min..max | ns per env step |\n|---|---|---|---|---|")
    for n in sizes:
        med, lo, hi = bench(n)
        print(f"| NumPy vectorized | {n} | {med:,.0f} | {lo:,.0f}..{hi:,.0f} | {1e9 / med:.1f} |")
