"""The built-in FullyConnectedNetwork run by numpy on its own parameters: the numpy engine's model.

For the small networks of RL, torch spends far longer dispatching an operator, and autograd
recording it, than the arithmetic takes: a 64-64 MLP's forward on 8 observations is ~5
operators of ~1 us of maths each, wrapped in ~20 us of framework. This module runs the very
same network (the same parameter tensors: numpy views share their memory, so nothing is
copied and an optimizer step is seen at once) with numpy, forward and, for the learner,
backward by hand.

It applies only where its result is the model's own: an unmodified ``FullyConnectedNetwork``
(not a subclass, no hooks) on the CPU in float32 with tanh / relu / linear activations
(``why_not(model)`` says what else it found). Anything else (a custom model, a GPU, batch
norm) runs through torch; nothing the user wrote is ever bypassed. ``tests/test_engines.py``
checks outputs, values and gradients against torch's; notebook 12 derives the backward pass.

Shapes: ``x: [N, F]`` float32 -> outputs ``[N, num_outputs]``, values ``[N]``.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from rlkit.distributions.continuous import LOG_STD_MAX, LOG_STD_MIN
from rlkit.models.checks import forward_hook_site, has_forward_hooks
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.utils.seeding import generator

# Above this many elements tanh is computed as 2 / (1 + exp(-2z)) - 1: numpy's exp is
# vectorised where its tanh is not (1.5-2.5x faster on a [256, 256] block; below, the five
# calls cost more than they save). Both agree to float32 rounding (~2e-7).
_TANH_BY_EXP = 8192


def _tanh(z: np.ndarray) -> np.ndarray:
    """Tanh of z, in place."""
    if z.size < _TANH_BY_EXP:
        return np.tanh(z, out=z)
    with np.errstate(over="ignore", under="ignore"):  # exp(-2z) = inf for z < -44: -1 then
        z *= -2.0
        np.exp(z, out=z)
        z += 1.0
        np.divide(2.0, z, out=z)
        z -= 1.0
    return z


def _tanh_grad(h: np.ndarray) -> np.ndarray:
    """D tanh / dz = 1 - tanh^2, from the output h."""
    out = h * h
    np.subtract(1.0, out, out=out)
    return out


# name -> (activation in place, derivative from the activation's output)
_ACTIVATIONS = {
    "tanh": (_tanh, _tanh_grad),
    "relu": (lambda z: np.maximum(z, 0.0, out=z), lambda h: (h > 0).astype(h.dtype)),
    "linear": (lambda z: z, None),
}
_MODULES = {torch.nn.Tanh: "tanh", torch.nn.ReLU: "relu", torch.nn.Identity: "linear"}


class _Layer:
    """One dense layer: ``h = act(x @ W.T + b)`` with W ``[out, in]`` as nn.Linear keeps it."""

    __slots__ = ("weight", "bias", "act")

    def __init__(self, linear: torch.nn.Linear, act: str):
        self.weight, self.bias, self.act = linear.weight, linear.bias, act


def _tower(seq: torch.nn.Sequential | None) -> list[_Layer] | None:
    """Layers of an ``mlp()`` Sequential (Linear, activation, ...); None for anything else."""
    if seq is None:
        return []
    mods = list(seq)
    if len(mods) % 2:
        return None
    layers = []
    for linear, act in zip(mods[::2], mods[1::2]):
        if type(linear) is not torch.nn.Linear or type(act) not in _MODULES:
            return None
        layers.append(_Layer(linear, _MODULES[type(act)]))
    return layers


def why_not(model: Any) -> str | None:
    """Why ``NumpyMLP`` cannot run ``model`` exactly, in words; None where it can."""
    if type(model) is not FullyConnectedNetwork:
        return f"the model is {type(model).__name__}, not the built-in FullyConnectedNetwork"
    if model.layers().value_head is None:
        return "the model has no value head (a feature extractor)"
    if model.log_std is not None:
        return "free_log_std adds a state-independent log std"
    hooked = forward_hook_site(model)
    if hooked is not None:
        return f"{hooked} (a hook must see every forward)"
    for name, p in model.named_parameters():
        if p.device.type != "cpu" or p.dtype != torch.float32:
            return f"parameter '{name}' is {p.dtype} on {p.device}, not float32 on the CPU"
    if NumpyMLP.of(model) is None:
        return "the model holds layers other than Linear with tanh, relu or linear activations"
    return None


# The engine's cache: model -> the NumpyMLP viewing its parameters. Weak, so a model that is
# dropped takes its entry with it; a copy of a model (deepcopy, pickle) builds its own.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class NumpyMLP:
    """Forward (and backward) of one FullyConnectedNetwork with numpy, on its own parameters.

    Build with ``NumpyMLP.of(model)``, which returns None when the model is not one this
    engine reproduces exactly; callers then use torch.
    """

    def __init__(self, model: Any, hidden: list[_Layer], logits: _Layer | None, value_tower):
        self.hidden = hidden  # policy tower (the last layer is the output when no logits)
        self.logits = logits
        self.value_tower = value_tower  # None: the value head reads the policy features
        self.value_head = _Layer(model.layers().value_head, "linear")
        self.params = [p for p in model.parameters()]
        modules = list(model.modules())  # the model first
        # The cache is keyed weakly by the model: nothing here may hold the model itself.
        self._root = weakref.ref(model)
        self._submodules = modules[1:]
        # (children, parameters) of each module: the layers were read off exactly these
        self._layout = [(tuple(m.children()), tuple(m.parameters(recurse=False))) for m in modules]
        self._ptrs = None
        self._np: dict[int, np.ndarray] = {}

    @staticmethod
    def of(model: Any) -> NumpyMLP | None:
        """The engine for ``model`` (cached by the engine); None where torch must run it."""
        if type(model) is not FullyConnectedNetwork or model.layers().value_head is None:
            return None
        engine = _CACHE.get(model)
        if engine is None or not engine._valid():
            engine = NumpyMLP._build(model)
            if engine is None:
                _CACHE.pop(model, None)
                return None
            _CACHE[model] = engine
        return engine

    @staticmethod
    def _build(model: Any) -> NumpyMLP | None:
        if model.log_std is not None:  # free_log_std: left to torch
            return None
        parts = model.layers()
        hidden = _tower(parts.hidden)
        value_tower = None if parts.value_tower is None else _tower(parts.value_tower)
        if hidden is None or (parts.value_tower is not None and value_tower is None):
            return None
        logits = None if parts.logits is None else _Layer(parts.logits, "linear")
        engine = NumpyMLP(model, hidden, logits, value_tower)
        return engine if engine._valid() else None

    def _valid(self) -> bool:
        """Whether the engine still computes the model's own forward.

        The layers are still the model's, its parameters still the float32 CPU tensors the
        views were made of, and nobody hooked a module since (a hook must see every forward).
        Runs before every use, so it checks identities rather than walking the model.
        """
        root = self._root()
        if root is None:
            return False
        modules = [root, *self._submodules]
        if has_forward_hooks(modules):
            return False
        for mod, (children, params) in zip(modules, self._layout, strict=True):
            # identity: Modules compare by id; a tuple of tensors would compare values
            now = tuple(mod.parameters(recurse=False))
            if (
                tuple(mod.children()) != children
                or len(now) != len(params)
                or any(a is not b for a, b in zip(now, params))
            ):
                return False
        ptrs = [p.data_ptr() for p in self.params]
        if ptrs != self._ptrs:  # new storage: moved, cast or assigned; check, then view it
            if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in self.params):
                return False
            self._np = {id(p): p.detach().numpy() for p in self.params}
            self._ptrs = ptrs
        return True

    def _w(self, layer: _Layer) -> tuple[np.ndarray, np.ndarray]:
        return self._np[id(layer.weight)], self._np[id(layer.bias)]

    # -- forward --------------------------------------------------------------------------
    def _run(self, layers: list[_Layer], x: np.ndarray, keep: list | None) -> np.ndarray:
        for layer in layers:
            W, b = self._w(layer)
            x = x @ W.T  # [N, in] @ [in, out] -> [N, out]
            x += b
            _ACTIVATIONS[layer.act][0](x)
            if keep is not None:
                keep.append(x)
        return x

    def forward(
        self, x: np.ndarray, outputs: bool = True, values: bool = True, keep: dict | None = None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(outputs [N, num_outputs] or None, values [N] or None) for flat obs ``x [N, F]``.

        ``keep``: a dict that receives the activations the backward pass needs.
        """
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)  # [N, *shape] -> [N, F]
        pi_acts = [] if keep is not None else None
        features = out = None
        if outputs or self.value_tower is None:
            features = self._run(self.hidden, x, pi_acts)
            out = features
            if self.logits is not None and outputs:
                W, b = self._w(self.logits)
                out = features @ W.T + b  # [N, H] -> [N, num_outputs]
        value = None
        if values:
            vf_acts = [] if keep is not None else None
            v_in = features if self.value_tower is None else self._run(self.value_tower, x, vf_acts)
            W, b = self._w(self.value_head)
            value = v_in @ W[0] + b[0]  # [N, D] -> [N]
            if keep is not None:
                keep.update(vf_acts=vf_acts, v_in=v_in)
        if keep is not None:
            keep.update(x=x, pi_acts=pi_acts, features=features)
        return (out if outputs else None), value

    # -- backward -------------------------------------------------------------------------
    def backward(self, keep: dict, d_out: np.ndarray, d_value: np.ndarray) -> None:
        """Write d loss / d parameter into every parameter's ``.grad`` (replacing it).

        Args:
            keep: what ``forward(..., keep=keep)`` stored.
            d_out: [N, num_outputs] d loss / d outputs.
            d_value: [N] d loss / d values.
        """
        grads = self._grads()
        W, _ = self._w(self.value_head)
        gw, gb = grads[id(self.value_head.weight)], grads[id(self.value_head.bias)]
        np.matmul(d_value, keep["v_in"], out=gw[0])  # [N] @ [N, D] -> [D]
        gb[0] = d_value.sum()
        d_v_in = d_value[:, None] * W  # [N, 1] * [1, D] -> [N, D]
        d_feat = None
        if self.logits is not None:
            lw, _ = self._w(self.logits)
            np.matmul(d_out.T, keep["features"], out=grads[id(self.logits.weight)])
            grads[id(self.logits.bias)][...] = d_out.sum(0)
            d_feat = d_out @ lw  # [N, n] @ [n, H] -> [N, H]
        else:  # the last hidden layer is the output layer
            d_feat = d_out
        if self.value_tower is None:
            d_feat = d_feat + d_v_in
        else:
            self._back(self.value_tower, keep["vf_acts"], keep["x"], d_v_in, grads)
        self._back(self.hidden, keep["pi_acts"], keep["x"], d_feat, grads)

    def _back(self, layers, acts, x, g, grads) -> None:
        for i in reversed(range(len(layers))):
            layer = layers[i]
            derivative = _ACTIVATIONS[layer.act][1]
            if derivative is not None:
                d = derivative(acts[i])  # a new array: g may be the caller's
                d *= g
                g = d  # through the activation
            below = acts[i - 1] if i else x
            np.matmul(g.T, below, out=grads[id(layer.weight)])  # [out, N] @ [N, in]
            np.sum(g, axis=0, out=grads[id(layer.bias)])
            if i:
                g = g @ self._np[id(layer.weight)]  # [N, out] @ [out, in] -> [N, in]

    def clip_grads(self, max_norm: float) -> float:
        """Scale every gradient so their global L2 norm is at most ``max_norm``.

        As rlkit.engines.learner.clip_grad_norm does; returns the norm before.
        """
        grads = [p.grad.numpy().reshape(-1) for p in self.params]
        total = float(np.sqrt(sum(float(g @ g) for g in grads)))
        scale = max_norm / (total + 1e-6)
        if scale < 1.0:
            for g in grads:
                g *= scale
        return total

    def _grads(self) -> dict[int, np.ndarray]:
        """Numpy views of every parameter's ``.grad``, created (zeros) where missing."""
        out = {}
        for p in self.params:
            if p.grad is None or p.grad.data_ptr() == 0:
                p.grad = torch.zeros_like(p)
            out[id(p)] = p.grad.numpy()
        return out


# -- distributions, in numpy ----------------------------------------------------------------
HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def gaussian_logp(z: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """DiagGaussian's log-probability [N] of standardised actions z = (a - mean) / std.

    z and log stds are [N, A]: logp = sum(-z^2 / 2 - log std - log(2 pi) / 2).
    """
    return row_sum(-0.5 * z * z - log_std - HALF_LOG_2PI)


def gaussian_sample_logp(inputs: np.ndarray, explore: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sample DiagGaussian on [N, 2A] inputs: (actions [N, A], their logp [N]).

    Inputs are means, then log stds clamped as DiagGaussian does; the noise comes from
    torch's generator.
    """
    mean, log_std = np.split(inputs, 2, axis=1)  # [N, 2A] -> 2 x [N, A]
    log_std = np.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)
    if not explore:
        noise = np.zeros_like(mean)
    else:
        noise = torch.randn(mean.shape, generator=generator()).numpy()
    actions = mean + np.exp(log_std) * noise
    logp = gaussian_logp(noise, log_std)
    return actions.astype(np.float32), logp.astype(np.float32)


# numpy reduces a short last axis slowly (~6-11 us for [256, 2], against ~1 us per
# elementwise call): below this width rows are reduced column by column, which adds in the
# same order numpy does for fewer than 8 values, so the results are bit for bit the same.
_COLUMNWISE = 8


def row_sum(z: np.ndarray) -> np.ndarray:
    """[N, n] -> [N], sum over each row."""
    if z.shape[1] >= _COLUMNWISE:
        return z.sum(axis=1)
    out = z[:, 0].copy()
    for j in range(1, z.shape[1]):
        out += z[:, j]
    return out


def row_max(z: np.ndarray) -> np.ndarray:
    """[N, n] -> [N], max over each row (NaN propagates, as ndarray.max)."""
    if z.shape[1] >= _COLUMNWISE:
        return z.max(axis=1)
    out = z[:, 0].copy()
    for j in range(1, z.shape[1]):
        np.maximum(out, z[:, j], out=out)
    return out


def log_softmax(z: np.ndarray) -> np.ndarray:
    """[N, n] logits -> [N, n] log-probabilities (the max is subtracted first)."""
    z = z - row_max(z)[:, None]
    z -= np.log(row_sum(np.exp(z)))[:, None]
    return z


def sample_categorical(log_probs: np.ndarray, explore: bool) -> np.ndarray:
    """[N, n] log-probabilities -> [N] int64 actions.

    Sampling runs the exponential race torch.multinomial runs (argmax of p / q, q ~ Exp(1))
    with q drawn from torch's generator, so the trainer's seeded RNG stream decides it.
    """
    if not explore:
        return log_probs.argmax(axis=1)
    if np.isnan(log_probs).any():
        raise RuntimeError(
            "Categorical.sample: the model output NaN logits; the model has diverged "
            "(lower lr, set grad_clip, or check the inputs for NaN)"
        )
    q = torch.empty(log_probs.shape).exponential_(generator=generator()).numpy()
    return (np.exp(log_probs) / q).argmax(axis=1)
