"""ProtoCLIP's pieces against independent references: k-means against scikit-learn's Lloyd
k-means from the same initial centroids, back translation and the prototype loss against NumPy
float64 written from the formulas, and the whole loss against a NumPy pipeline."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from sklearn.cluster import KMeans

from contrastive_jax import losses
from tests.losses import helpers as h
from tests.losses.test_clip import reference as clip_reference


def blobs(seed, per_cluster, centers, noise=0.05):
    """Rows around well-separated centres (so every clustering is unambiguous), shuffled."""
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, np.float64)
    x = np.concatenate([c + noise * rng.standard_normal((per_cluster, centers.shape[1]))
                        for c in centers])
    return x[rng.permutation(len(x))].astype(np.float32)


def sklearn_kmeans(x, k, iterations=20):
    n = len(x)
    start = x[(np.arange(k) * n) // k].astype(np.float64)
    model = KMeans(n_clusters=k, init=start, n_init=1, max_iter=iterations, tol=0.0,
                   algorithm="lloyd").fit(x.astype(np.float64))
    return model.cluster_centers_, model.labels_


def reference_back_translate(labels, features, k):
    out = np.zeros((k, features.shape[1]))
    for c in range(k):
        members = features[labels == c]
        if len(members):
            out[c] = np.mean(np.asarray(members, np.float64), axis=0)
    return out


def reference_prototype_loss(student, labels, student_protos, teacher_protos, scale, t):
    z = h.unit(student)
    scores = scale * z @ np.asarray(student_protos, np.float64).T
    log_p = scores - h.log_sum_exp(scores, axis=1)[:, None]
    k = len(student_protos)
    if t > 0:
        tp = np.asarray(teacher_protos, np.float64)
        logits = tp[labels] @ tp.T / t
        target = np.exp(logits - h.log_sum_exp(logits, axis=1)[:, None])
    else:
        target = np.eye(k)[labels]
    return -np.mean(np.sum(target * log_p, axis=1))


def reference_protoclip(image, text, image_proj, text_proj, scale, proto_scale, k, t):
    zi, zt = h.unit(image_proj), h.unit(text_proj)
    ci, li = sklearn_kmeans(zi, k)
    ct, lt = sklearn_kmeans(zt, k)
    pi, pt = reference_back_translate(lt, zi, k), reference_back_translate(li, zt, k)
    proto = 0.5 * (reference_prototype_loss(zi, lt, pi, ct, proto_scale, t)
                   + reference_prototype_loss(zt, li, pt, ci, proto_scale, t))
    return clip_reference(image, text, scale) + proto


CENTERS = [[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0], [0, 0, 0, 3]]


def test_kmeans_matches_scikit_learn_lloyd_from_the_same_start():
    x = blobs(0, 6, CENTERS, noise=0.5)  # overlapping enough that Lloyd has work to do
    centroids, labels = jax.jit(lambda a: losses.kmeans(a, num_clusters=4))(x)
    expected_centroids, expected_labels = sklearn_kmeans(x, 4)
    np.testing.assert_array_equal(np.asarray(labels), expected_labels)
    h.assert_close(centroids, expected_centroids, rtol=1e-5, atol=1e-5)


def test_kmeans_edge_cases():
    x = np.repeat(np.eye(2, 3, dtype=np.float32), 3, axis=0)  # duplicated points
    (c1, l1), (c6, l6) = jax.jit(lambda a: (losses.kmeans(a, num_clusters=1),
                                            losses.kmeans(a, num_clusters=6)))(x)
    h.assert_close(c1, np.mean(x, axis=0, keepdims=True))
    np.testing.assert_array_equal(np.asarray(l1), 0)
    assert np.all(np.isfinite(np.asarray(c6)))  # clusters emptied by duplicates stay finite
    h.assert_close(np.asarray(c6)[np.asarray(l6)], x)  # every point sits on its centroid
    with pytest.raises(ValueError, match="num_clusters=7 must be in"):
        losses.kmeans(x, num_clusters=7)


def test_back_translate_matches_reference_with_an_empty_cluster():
    features = h.normal(0, 9, 3)
    labels = np.array([0, 2, 2, 0, 4, 4, 4, 0, 2])  # clusters 1 and 3 are empty
    got = h.run(lambda f: losses.back_translate(jnp.asarray(labels), f, num_clusters=5),
                features)
    h.assert_close(got, reference_back_translate(labels, features, 5), atol=1e-6)


@pytest.mark.parametrize("t", [0.01, 0.5, -1.0])
def test_prototype_loss_matches_reference(t):
    student, sp, tp = h.normal(0, 6, 4), h.normal(1, 3, 4), h.normal(2, 3, 5)
    labels = np.array([0, 1, 2, 2, 1, 0])
    fn = lambda s, a, b: losses.prototype_loss(s, jnp.asarray(labels), a, b, logit_scale=7.0,
                                               target_temperature=t)
    h.assert_close(h.run(fn, student, sp, tp),
                   reference_prototype_loss(student, labels, sp, tp, 7.0, t), rtol=2e-5)


def test_prototype_loss_gradients_float64():
    labels = jnp.array([0, 1, 2, 1])
    fn = lambda s, a, b, scale: losses.prototype_loss(s, labels, a, b, logit_scale=scale,
                                                      target_temperature=0.5)
    h.check_grads_x64(fn, h.normal(0, 4, 3), h.normal(1, 3, 3), h.normal(2, 3, 3),
                      np.float64(4.0))


def _batch(b=16, seed=0):
    image = blobs(seed, b // 4, CENTERS)
    text = blobs(seed + 1, b // 4, CENTERS)
    return (image, text, image[:, ::-1].copy(), text[:, ::-1].copy(), np.float32(10.0),
            np.float32(5.0))


def protoclip_fn(x, y, xp, yp, s, ps, k=4, t=0.01, axis_name=None, **kw):
    return losses.protoclip(x, y, xp, yp, logit_scale=s, proto_logit_scale=ps, num_prototypes=k,
                            target_temperature=t, axis_name=axis_name, **kw)


def test_protoclip_matches_the_numpy_pipeline():
    for t in (0.01, 0.5):
        args = _batch()
        h.assert_close(h.run(lambda *a: protoclip_fn(*a, t=t), *args),
                       reference_protoclip(*args, 4, t), rtol=2e-5)


def test_no_gradient_through_the_clustering():
    """The gradient equals that of the same loss with the prototypes and assignments frozen
    (computed once, outside): ProtoCLIP fixes them for the episode."""
    x, y, xp, yp, s, ps = _batch(8)
    zi, zt = h.unit(xp), h.unit(yp)
    ci, li = sklearn_kmeans(zi, 4)
    ct, lt = sklearn_kmeans(zt, 4)
    pi, pt = reference_back_translate(lt, zi, 4), reference_back_translate(li, zt, 4)
    frozen = [np.asarray(a, np.float32) for a in (ci, ct, pi, pt)]

    def fixed(a, b, ap, bp):
        clip = losses.clip(a, b, logit_scale=s)
        return clip + 0.5 * (
            losses.prototype_loss(ap, jnp.asarray(lt), frozen[2], frozen[1], logit_scale=ps)
            + losses.prototype_loss(bp, jnp.asarray(li), frozen[3], frozen[0], logit_scale=ps))

    got, expected = h.jit(lambda *a: (jax.grad(lambda *b: protoclip_fn(*b, s, ps),
                                               argnums=(0, 1, 2, 3))(*a),
                                      jax.grad(fixed, argnums=(0, 1, 2, 3))(*a)))(x, y, xp, yp)
    for g, e in zip(got, expected):
        h.assert_close(g, e, rtol=1e-4, atol=1e-6)


def test_extremes_batch_of_one_and_two_float32_and_bfloat16():
    x, y, xp, yp, _, _ = _batch(4)
    fn = lambda a, b, c, d: protoclip_fn(a, b, c, d, 100.0, 100.0, k=1)
    h.assert_finite_value_and_grads(fn, (x[:1], y[:1], xp[:1], yp[:1]),
                                    (x[:2], y[:2], xp[:2], yp[:2]))


def test_sharded_matches_full_batch():
    args = _batch(16)
    specs = (P("data"),) * 4 + (P(), P())
    h.assert_sharded_matches_full(protoclip_fn, args, specs)
