import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

import catvae_lit.training as training
from catvae_lit.losses import (
    bernoulli_nll,
    kl_diag_gaussian,
    vae_objective,
)
from catvae_lit.models import VAE
from catvae_lit.training import (
    fit,
    load_checkpoint,
    load_weights,
    restore_model,
    save_checkpoint,
)


def toy_images(n=256, seed=0):
    return torch.rand(
        n, 784, generator=torch.Generator().manual_seed(seed)
    ).round()


def test_vae_shapes():
    model = VAE().eval()
    mu, logvar = model.encode(torch.rand(5, 784))
    assert mu.shape == logvar.shape == (5, 20)
    assert model.decode(torch.zeros(2, 3, 20)).shape == (2, 3, 784)
    samples = model.sample(4)
    assert (
        samples.shape == (4, 784)
        and 0 < samples.min()
        and samples.max() < 1
    )


@pytest.mark.parametrize(
    "bad, expected",
    [
        (torch.rand(5, 28, 28), "shape"),
        (torch.rand(5, 100), "shape"),
        (torch.rand(5, 784) * 255, r"\[0, 1\]"),
    ],
)
def test_vae_rejects_bad_input(bad, expected):
    with pytest.raises(ValueError, match=expected):
        VAE().encode(bad)


def test_kl_matches_torch_distributions():
    torch.manual_seed(1)
    mu, logvar, centre = (
        torch.randn(7, 20),
        3 * torch.randn(7, 20),
        torch.randn(20),
    )
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(centre, torch.ones(20)), 1)
    assert torch.allclose(
        kl_diag_gaussian(mu, logvar, centre),
        kl_divergence(q, p),
        rtol=1e-5,
    )


def test_bernoulli_nll_matches_log_prob():
    logits, x = torch.randn(4, 784), toy_images(4)
    expected = (
        -torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    )
    assert torch.allclose(bernoulli_nll(logits, x), expected, rtol=1e-5)


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model, images = VAE(), toy_images()
    history = fit(
        model,
        vae_objective,
        images,
        epochs=3,
        batch_size=64,
        seed=0,
        progress=False,
    )
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"]
    assert set(history[0]) == {"epoch", "loss", "reconstruction", "kl"}


def test_resume_equals_uninterrupted_run(tmp_path):
    images = torch.rand(300, 784)
    initial = VAE().state_dict()
    straight = VAE()
    straight.load_state_dict(initial)
    fit(
        straight,
        vae_objective,
        images,
        epochs=3,
        batch_size=64,
        seed=5,
        progress=False,
    )

    interrupted = VAE()
    interrupted.load_state_dict(initial)
    fit(
        interrupted,
        vae_objective,
        images,
        epochs=2,
        batch_size=64,
        seed=5,
        checkpoint=tmp_path / "c.pt",
        progress=False,
    )
    resumed = VAE()
    history = fit(
        resumed,
        vae_objective,
        images,
        epochs=3,
        batch_size=64,
        seed=5,
        checkpoint=tmp_path / "c.pt",
        resume=True,
        progress=False,
    )
    assert len(history) == 3
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_same_seed_same_losses():
    images = torch.rand(200, 784)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(
            fit(
                VAE(),
                vae_objective,
                images,
                epochs=2,
                batch_size=50,
                seed=1,
                progress=False,
            )
        )
    assert runs[0] == runs[1]


def test_checkpoint_round_trip_and_architecture_check(tmp_path):
    model = VAE(latent_dim=10).eval()
    save_checkpoint(tmp_path / "m.pt", model, epoch=4)
    restored = restore_model(tmp_path / "m.pt", device="cpu")
    z = torch.randn(3, 10)
    assert torch.equal(restored.decode(z), model.decode(z))
    with pytest.raises(ValueError, match="latent_dim"):
        load_weights(
            VAE(), load_checkpoint(tmp_path / "m.pt"), tmp_path / "m.pt"
        )


def test_newer_checkpoint_format_is_refused(tmp_path):
    save_checkpoint(tmp_path / "m.pt", VAE())
    state = torch.load(tmp_path / "m.pt", weights_only=False)
    state["format"] = training.CHECKPOINT_FORMAT + 1
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="upgrade catvae_lit"):
        load_checkpoint(tmp_path / "m.pt")


def test_crash_while_saving_keeps_previous_checkpoint(
    tmp_path, monkeypatch
):
    path = tmp_path / "m.pt"
    first = VAE().eval()
    save_checkpoint(path, first, epoch=1)

    def crash(obj, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed while saving")

    monkeypatch.setattr(training.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, VAE(), epoch=2)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert list(tmp_path.iterdir()) == [path]


def test_nan_loss_stops_and_keeps_checkpoint(tmp_path):
    images = torch.rand(128, 784)
    model = VAE()
    fit(
        model,
        vae_objective,
        images,
        epochs=1,
        batch_size=64,
        checkpoint=tmp_path / "m.pt",
        progress=False,
    )

    def poisoned(model, x):
        terms = vae_objective(model, x)
        return {**terms, "loss": terms["loss"] * float("nan")}

    with pytest.raises(FloatingPointError, match="last good checkpoint"):
        fit(
            model,
            poisoned,
            images,
            epochs=2,
            batch_size=64,
            checkpoint=tmp_path / "m.pt",
            resume=True,
            progress=False,
        )
    assert load_checkpoint(tmp_path / "m.pt")["epoch"] == 1


def test_bad_training_arguments():
    with pytest.raises(ValueError, match="epochs"):
        fit(VAE(), vae_objective, torch.rand(10, 784), epochs=0)
