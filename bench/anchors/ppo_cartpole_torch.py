"""RUN: /usr/bin/python3 bench/anchors/ppo_cartpole_torch.py [--seeds 0 1 2] [--threads 1] [--max-steps 100000]
PPO on CartPole-v1 in PyTorch, written by us (PurePg) for `purepg bench speed` — not CleanRL's or SB3's file — with the
settings of PurePg's configs/ppo-CartPole-v1.json (rl-baselines3-zoo's): 8 copies x 32 steps a rollout, 20 epochs of
one minibatch of 256, Adam (eps 1e-5) at lr 1e-3 annealed linearly over 100k steps (set once per rollout), gamma 0.98,
GAE lambda 0.8, clip 0.2, value loss 0.5 * mean (V - R)^2 (unclipped), no entropy bonus, global gradient-norm clip
0.5, advantages standardized per minibatch; separate policy and value MLPs 4-64-64 tanh, orthogonal initialization
(gain sqrt 2, heads 0.01 and 1), zero biases; V(s_final) bootstraps a truncated episode, 0 a terminated one.
Environment: the NumPy CartPole of cartpole_numpy.py (Gymnasium's equations, same-step autoreset).
Protocol (the same as PurePg's side of the report): every 2,048 training steps, 10 episodes of the deterministic policy
(argmax) on evaluation seeds 1,000,000 + 1,000 * seed + k; training stops at the first evaluation with mean >= 475.
Reported: steps to 475, seconds of training (rollouts + updates, evaluations excluded) and seconds in all."""
import argparse
import math
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--max-steps", type=int, default=100_000)
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # before torch loads them

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.distributions import Categorical  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cartpole_numpy import VecCartPole  # noqa: E402

torch.set_num_threads(args.threads)
N, T, EPOCHS, MB, LR, PLANNED = 8, 32, 20, 256, 1e-3, 100_000
GAMMA, LAM, CLIP, VF, MAX_NORM, EVAL_EVERY, THRESHOLD = 0.98, 0.8, 0.2, 0.5, 0.5, 2048, 475.0


def mlp(outputs, head_gain):
    layers = [nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, outputs)]
    for layer, gain in ((layers[0], math.sqrt(2)), (layers[2], math.sqrt(2)), (layers[4], head_gain)):
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


def evaluate(pi, seed, episodes=10):
    env = VecCartPole(episodes, seed)
    obs = env.state.T.astype(np.float32)
    total, alive = np.zeros(episodes), np.ones(episodes, dtype=bool)
    while alive.any():
        with torch.no_grad():
            action = pi(torch.as_tensor(obs)).argmax(-1).numpy()
        obs, reward, terminated, truncated = env.step(action)
        total += reward * alive
        alive &= ~(terminated | truncated)
    return total.mean()


def run(seed):
    torch.manual_seed(seed)
    pi, vf = mlp(2, 0.01), mlp(1, 1.0)
    params = list(pi.parameters()) + list(vf.parameters())
    opt = torch.optim.Adam(params, lr=LR, eps=1e-5)
    env = VecCartPole(N, seed)
    obs = env.state.T.astype(np.float32)
    o_buf = np.zeros((T, N, 4), np.float32)
    a_buf, lp_buf, v_buf = np.zeros((T, N), np.int64), np.zeros((T, N), np.float32), np.zeros((T, N), np.float32)
    r_buf, next_v, cut = np.zeros((T, N), np.float32), np.zeros((T, N), np.float32), np.zeros((T, N), np.float32)
    steps, train, k, next_eval = 0, 0.0, 0, EVAL_EVERY
    start = time.perf_counter()
    while steps < args.max_steps:
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = LR * (1 - steps / PLANNED)
        for t in range(T):
            o = torch.as_tensor(obs)
            with torch.no_grad():
                dist = Categorical(logits=pi(o))
                a = dist.sample()
                lp, v = dist.log_prob(a), vf(o).squeeze(-1)
            o_buf[t], a_buf[t], lp_buf[t], v_buf[t] = obs, a.numpy(), lp.numpy(), v.numpy()
            obs, r_buf[t], terminated, truncated = env.step(a.numpy())
            truncated = truncated & ~terminated
            next_v[t] = 0.0
            cut[t] = (terminated | truncated).astype(np.float32)
            if truncated.any():
                with torch.no_grad():
                    next_v[t, truncated] = vf(torch.as_tensor(env.final_obs[truncated])).squeeze(-1).numpy()
            if t > 0:
                live = cut[t - 1] == 0
                next_v[t - 1, live] = v_buf[t, live]
        with torch.no_grad():
            last = vf(torch.as_tensor(obs)).squeeze(-1).numpy()
        live = cut[T - 1] == 0
        next_v[T - 1, live] = last[live]
        adv, gae = np.zeros((T, N), np.float32), np.zeros(N, np.float32)
        for t in reversed(range(T)):
            delta = r_buf[t] + GAMMA * next_v[t] - v_buf[t]
            gae = delta + GAMMA * LAM * (1 - cut[t]) * gae
            adv[t] = gae
        ret = adv + v_buf
        b_o, b_a = torch.as_tensor(o_buf.reshape(-1, 4)), torch.as_tensor(a_buf.reshape(-1))
        b_lp, b_adv, b_ret = torch.as_tensor(lp_buf.reshape(-1)), torch.as_tensor(adv.reshape(-1)), torch.as_tensor(ret.reshape(-1))
        for _ in range(EPOCHS):
            perm = torch.randperm(N * T)
            for s in range(0, N * T, MB):
                idx = perm[s:s + MB]
                logp = Categorical(logits=pi(b_o[idx])).log_prob(b_a[idx])
                ratio = torch.exp(logp - b_lp[idx])
                a_mb = b_adv[idx]
                a_mb = (a_mb - a_mb.mean()) / (a_mb.std() + 1e-8)
                pg = -torch.min(ratio * a_mb, torch.clamp(ratio, 1 - CLIP, 1 + CLIP) * a_mb).mean()
                v_loss = ((vf(b_o[idx]).squeeze(-1) - b_ret[idx]) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                (pg + VF * v_loss).backward()
                nn.utils.clip_grad_norm_(params, MAX_NORM)
                opt.step()
        steps += N * T
        train += time.perf_counter() - t0
        if steps >= next_eval:
            next_eval += EVAL_EVERY
            mean = evaluate(pi, 1_000_000 + 1000 * seed + k)
            k += 1
            if mean >= THRESHOLD:
                return steps, train, time.perf_counter() - start, mean
    return None, train, time.perf_counter() - start, None


print(f"torch {torch.__version__}, numpy {np.__version__}, threads={torch.get_num_threads()}", flush=True)
print("| seed | steps to 475 | training s | total s |\n|---|---|---|---|", flush=True)
for seed in args.seeds:
    reached, train, total, mean = run(seed)
    print(f"| {seed} | {reached if reached is not None else 'not reached'} | {train:.2f} | {total:.2f} |", flush=True)
