"""The paper's MLP CatVAE and InfoCatVAE as a reader would first write
them, for the benchmarks.

The network is built from PyTorch's standard layers (`nn.Dropout` among
them); the mu and log-variance heads run once per category on the hidden
layer concatenated with a one-hot vector, each branch is decoded to
probabilities by a sigmoid, and the reconstruction is the binary
cross-entropy of those probabilities; the optimiser is Adam with its
default update. It computes the same loss as `catvae_lit.losses` (the
benchmark prints both; tests/test_fast_matches_reference.py checks
losses and gradients) and its parameters have the names of
`catvae_lit.models.MLPCatVAE`, so both start from the same weights."""

import torch
import torch.nn.functional as F
from torch import nn

from catvae_lit.prior import orthogonal_means


def layer(in_features, out_features, dropout):
    return nn.Sequential(
        nn.Linear(in_features, out_features),
        nn.Dropout(dropout),
        nn.ReLU(),
    )


class Decoder(nn.Module):
    def __init__(self, latent_dim, hidden_dim, output_dim, dropout):
        super().__init__()
        self.net = nn.Sequential(
            layer(latent_dim, hidden_dim, dropout),
            nn.Linear(hidden_dim, output_dim),
        )

    def forward(self, z):
        return torch.sigmoid(self.net(z))


class ReferenceCatVAE(nn.Module):
    """MLPCatVAE's parameters and prior, with standard layers: load a
    catvae_lit state_dict into it."""

    def __init__(
        self,
        input_dim=784,
        num_classes=10,
        latent_dim=20,
        hidden_dim=400,
        dropout=0.25,
        scale=2.0,
    ):
        super().__init__()
        self.config = dict(
            num_classes=num_classes, latent_dim=latent_dim
        )
        self.register_buffer(
            "prior_means",
            orthogonal_means(num_classes, latent_dim, scale),
        )
        self.body = layer(input_dim, hidden_dim, dropout)
        self.classifier = nn.Linear(hidden_dim, num_classes)
        self.mu_head = nn.Linear(hidden_dim + num_classes, latent_dim)
        self.logvar_head = nn.Linear(
            hidden_dim + num_classes, latent_dim
        )
        self.decoder = Decoder(
            latent_dim, hidden_dim, input_dim, dropout
        )


def reference_copy(model):
    """A ReferenceCatVAE with the weights of the catvae_lit MLPCatVAE
    `model`."""
    reference = ReferenceCatVAE(**model.config)
    reference.load_state_dict(model.state_dict())
    return reference.train(model.training)


def heads(model, h, weights):
    """mu and logvar from the hidden layer concatenated with category
    weights (one-hot, or q(c|x))."""
    features = torch.cat([h, weights], dim=1)
    return model.mu_head(features), model.logvar_head(features)


def bce_from_probabilities(model, z, x):
    return F.binary_cross_entropy(
        model.decoder(z), x, reduction="none"
    ).sum(1)


def reference_catvae_loss(
    model, x, beta_cont=10.0, beta_cat=10.0, reconstruction="bound"
):
    """The CatVAE loss with a loop over categories; the mixed reading
    feeds [h, q(c|x)] to the heads."""
    h = model.body(x)
    probs = torch.softmax(model.classifier(h), dim=-1)
    k = probs.shape[1]
    one_hots = torch.eye(k).expand(len(x), k, k)
    branches = [heads(model, h, one_hots[:, c]) for c in range(k)]
    if reconstruction == "bound":
        # the same draws as the vectorised code
        noise = torch.randn(len(x), k, model.config["latent_dim"])
        rec = sum(
            probs[:, c]
            * bce_from_probabilities(
                model, mu + torch.exp(0.5 * logvar) * noise[:, c], x
            )
            for c, (mu, logvar) in enumerate(branches)
        )
    else:
        mu, logvar = heads(model, h, probs)
        rec = bce_from_probabilities(
            model, mu + torch.exp(0.5 * logvar) * torch.randn_like(mu), x
        )
    kl_continuous = sum(
        probs[:, c]
        * 0.5
        * (
            logvar.exp() + (mu - model.prior_means[c]) ** 2 - 1 - logvar
        ).sum(1)
        for c, (mu, logvar) in enumerate(branches)
    )
    kl_categorical = (probs * torch.log(probs * k + 1e-30)).sum(1)
    return (
        rec + beta_cont * kl_continuous + beta_cat * kl_categorical
    ).mean()


def reference_infocatvae_loss(
    model, x, beta_info=100.0, samples_per_category=10, **weights
):
    """The CatVAE loss plus the information cross-entropy on generated
    mean images."""
    k = model.config["num_classes"]
    categories = torch.arange(k).repeat(samples_per_category)
    loss = reference_catvae_loss(model, x, **weights)
    z = model.prior_means[categories] + torch.randn(
        len(categories), model.config["latent_dim"]
    )
    images = model.decoder(z)
    logits = model.classifier(model.body(images))
    return loss + beta_info * F.cross_entropy(logits, categories)
