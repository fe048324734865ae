import numpy as np

from contrastive_jax import evaluate


def test_order_accuracy_counts_images_closer_to_their_caption_ties_fail():
    image = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    text = np.array([[1.0, 0.1], [0.0, 5.0], [1.0, 0.0], [1.0, 1.0]])  # norms do not matter
    negative = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # row 2 ties, 3 equal
    # row 0: cos 0.995 > 0; row 1: 1 > 0; row 2: 0.707 == 0.707 (tie); row 3: equal -> tie
    assert evaluate.order_accuracy(image, text, negative) == 0.5


def test_order_evaluator_streams_three_embeddings_of_the_same_batches():
    rng = np.random.default_rng(0)
    images, texts, negatives = (rng.standard_normal((10, 3)) for _ in range(3))
    batches = [({"image": images[:6], "text": texts[:6], "text_negative": negatives[:6],
                 "label": np.zeros(6, np.int32)}, 6),
               ({"image": images[6:], "text": texts[6:], "text_negative": negatives[6:],
                 "label": np.zeros(4, np.int32)}, 4)]
    fn = lambda key: (lambda model, batch: (batch[key], batch["label"]))
    evaluator = evaluate.OrderEvaluator(fn("image"), fn("text"), fn("text_negative"),
                                        test_batches=batches)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = np.mean(np.sum(unit(images) * unit(texts), 1)
                       > np.sum(unit(images) * unit(negatives), 1))
    assert dict(evaluator.run(None)) == {"order_accuracy": expected}
