"""sepconv.study._train: shifts, determinism switches, training and evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sepconv.study._train import deterministic, distillation_loss, evaluate, shift_batch, train


def _shift_reference(image, dy, dx):
    # out[y, x] = image[y + dy, x + dx] where inside, else 0 -- one pixel at a time.
    c, h, w = image.shape
    out = np.zeros_like(image)
    for y in range(h):
        for x in range(w):
            if 0 <= y + dy < h and 0 <= x + dx < w:
                out[:, y, x] = image[:, y + dy, x + dx]
    return out


def test_shift_batch_matches_a_pixel_loop():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((6, 2, 5, 4)).astype(np.float32)
    shifts = rng.integers(-2, 3, size=(6, 2))
    out = shift_batch(torch.from_numpy(images), shifts, 2).numpy()
    for i in range(6):
        np.testing.assert_array_equal(out[i], _shift_reference(images[i], *shifts[i]))


def test_shift_batch_without_augmentation_is_identity():
    x = torch.randn(3, 1, 4, 4)
    assert shift_batch(x, np.zeros((3, 2), int), 0) is x


def test_deterministic_pins_threads_and_restores_them():
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    with deterministic(1):
        assert torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def _problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.standard_normal((n, 1, 4, 4)).astype(np.float32)
    images[:, 0, 0, 0] += 3 * (2 * labels - 1)  # one informative pixel
    return images, labels.astype(np.int64)


def _model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))


def test_training_learns_and_repeats_exactly():
    images, labels = _problem()
    results = []
    for _ in range(2):
        model = _model(0)
        with deterministic(1):
            train(
                model,
                images,
                labels,
                steps=40,
                batch_size=16,
                lr=0.05,
                weight_decay=0.0,
                augment=0,
                seed=3,
            )
        results.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(results[0], results[1])
    acc, _ = evaluate(model, images, labels)
    assert acc > 90


def test_training_seed_changes_the_batches():
    images, labels = _problem()
    weights = []
    for seed in (1, 2):
        model = _model(0)
        train(
            model,
            images,
            labels,
            steps=5,
            batch_size=8,
            lr=0.05,
            weight_decay=0.0,
            augment=1,
            seed=seed,
        )
        weights.append(model[1].weight.detach().clone())
    assert not torch.equal(weights[0], weights[1])


def test_evaluate_matches_a_direct_computation():
    images, labels = _problem(n=2500, seed=5)  # more than one evaluation batch
    model = _model(1)
    acc, loss = evaluate(model, images, labels)
    with torch.no_grad():
        logits = model(torch.from_numpy(images))
    expected_acc = 100 * float((logits.argmax(1).numpy() == labels).mean())
    expected_loss = float(nn.functional.cross_entropy(logits, torch.from_numpy(labels)))
    assert abs(acc - expected_acc) < 1e-9
    assert abs(loss - expected_loss) < 1e-5


def test_zero_steps_leaves_the_model_untouched():
    images, labels = _problem()
    model = _model(0)
    before = model[1].weight.detach().clone()
    train(model, images, labels, steps=0, batch_size=8, lr=0.1, weight_decay=0.0, augment=0, seed=0)
    assert torch.equal(before, model[1].weight)


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_distillation_loss_is_the_softened_kl_divergence(temperature):
    rng = np.random.default_rng(1)
    student = rng.standard_normal((5, 3))
    teacher = rng.standard_normal((5, 3)) * 3

    def softmax(z):
        e = np.exp(z / temperature - (z / temperature).max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p, q = softmax(teacher), softmax(student)
    expected = temperature**2 * np.mean(np.sum(p * np.log(p / q), axis=1))
    got = distillation_loss(torch.tensor(student), torch.tensor(teacher), temperature)
    assert float(got) == pytest.approx(expected, rel=1e-10)
    assert float(distillation_loss(torch.tensor(teacher), torch.tensor(teacher), 4.0)) < 1e-12


def test_distilling_pulls_the_student_to_the_teacher_and_leaves_the_teacher_alone():
    images, labels = _problem()
    teacher = _model(0)
    with deterministic(1):
        train(
            teacher,
            images,
            labels,
            steps=40,
            batch_size=16,
            lr=0.05,
            weight_decay=0.0,
            augment=0,
            seed=0,
        )
    teacher.train()  # the mode it is in is given back after training
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    x = torch.from_numpy(images)

    def gap(student):
        with torch.no_grad():
            return float(distillation_loss(student(x), teacher(x), 4.0))

    # Wrong labels: only the teacher can make the student agree with it.
    flipped = 1 - labels
    distilled, labelled = _model(1), _model(1)
    start = gap(distilled)
    with deterministic(1):
        for student, t in ((distilled, teacher), (labelled, None)):
            train(
                student,
                images,
                flipped,
                steps=40,
                batch_size=16,
                lr=0.05,
                weight_decay=0.0,
                augment=0,
                seed=3,
                teacher=t,
                temperature=4.0,
            )
    assert teacher.training
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key])
    assert gap(distilled) < 0.1 * start
    assert gap(labelled) > start
