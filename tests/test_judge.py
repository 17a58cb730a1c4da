"""The judge: a supervised classifier that names the class of generated
images."""

import json

import pytest
import torch

from catvae_lit.cli import main
from catvae_lit.judge import (
    Judge,
    judge_labels,
    judged_categories,
    purity,
)
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import restore_model, train_judge


def test_purity_is_the_share_of_the_most_common_class():
    classes = torch.tensor([[3, 3, 3, 1], [0, 1, 2, 2]])
    assert purity(classes).tolist() == [0.75, 0.5]


def test_the_judge_reads_flat_images_and_refuses_others():
    judge = Judge()
    assert judge(torch.rand(5, 784)).shape == (5, 10)
    with pytest.raises(ValueError, match="expected images of shape"):
        judge(torch.rand(5, 28, 28))


def test_judged_categories_has_a_row_per_category_and_a_class_per_centre():
    torch.manual_seed(0)
    classes, centres = judged_categories(
        MLPCatVAE(), Judge(), per_category=7
    )
    assert classes.shape == (10, 7) and centres.shape == (10,)
    assert ((0 <= classes) & (classes < 10)).all()


def test_training_the_judge_lowers_its_loss():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (256,), generator=generator)
    # class 1 is brighter
    images = (
        torch.rand(256, 784, generator=generator) * 0.5
        + labels[:, None] * 0.5
    )
    judge = Judge(num_classes=2)
    losses = train_judge(
        judge, images, labels, epochs=3, batch_size=64, seed=0
    )
    assert losses[-1] < losses[0]
    assert (judge_labels(judge, images) == labels).float().mean() > 0.9


def test_train_judge_command(tmp_path, mnist_root):
    out = tmp_path / "judge.pt"
    main(
        [
            "train-judge",
            "--subset",
            "512",
            "--epochs",
            "1",
            "--data-dir",
            mnist_root,
            "--out",
            out,
        ]
    )
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert (
        metadata["model"] == "judge"
        and metadata["subset"] == 512
        and 0.1 < metadata["test"]["accuracy"] <= 1
    )
    assert isinstance(restore_model(out), Judge)
    with pytest.raises(
        ValueError, match="exist; pass --overwrite to replace it"
    ):
        main(
            [
                "--debug",
                "train-judge",
                "--subset",
                "512",
                "--data-dir",
                mnist_root,
                "--out",
                out,
            ]
        )
