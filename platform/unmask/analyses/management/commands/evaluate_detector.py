"""`manage.py evaluate_detector DATASET`: false alarms, misses, AUC per method, reliability."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.models.card import CheckpointError
from detection.pipeline import resolve_model_path
from detection.training.evaluate import evaluate_dataset, worst_errors
from detection.training.layouts import LayoutError
from detection.training.reencode import REENCODINGS, described


class Command(BaseCommand):
    help = (
        "Evaluate a checkpoint on a labelled dataset: real/ + fake/ folders, a FaceForensics++ "
        "tree, a DFDC folder with metadata.json, Celeb-DF with List_of_testing_videos.txt, or "
        "a labelled video CSV (file,label,method[,split,group], like the wild set's labels.csv) "
        "or a face-crop CSV (file,label[,identity])."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", type=Path)
        parser.add_argument("--model", type=Path, help="checkpoint (default: the shipped model)")
        parser.add_argument("--out", type=Path, default=Path("var/evaluation"))
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--frames", type=int, help="frames per video (default: the card's)")
        parser.add_argument(
            "--split",
            choices=("train", "val", "test"),
            help="face-crop CSV: one identity split; labelled video CSV: its split, test being "
            "the val groups the model's card holds back",
        )
        parser.add_argument(
            "--reencode",
            choices=sorted(REENCODINGS),
            help=f"score every video after this re-encode, as the internet passes video on: "
            f"{described()}",
        )

    def handle(self, *args, **options):
        model = resolve_model_path(options["model"])
        try:
            report = evaluate_dataset(
                options["dataset"],
                model,
                options["out"],
                device=options["device"],
                split=options["split"],
                frames=options["frames"],
                reencoding=options["reencode"],
                on_sample=lambda n, total: self.stderr.write(f"video {n}/{total}", ending="\r"),
            )
        except (LayoutError, CheckpointError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_summary(report))
        band = report["model"]["uncertain_band"]
        wrong = worst_errors(report["per_sample"], band[1], count=5)
        if wrong:
            self.stdout.write(f"most confidently wrong (fake at {band[1]:.3f} or more):")
            for sample in wrong:
                label = "fake" if sample["label"] else "real"
                self.stdout.write(
                    f"  p={sample['fake_probability']:.3f} {label} {sample['method']:12s} "
                    f"{sample['path']}"
                )
        if report["skipped"]:
            self.stdout.write(f"skipped {len(report['skipped'])} sample(s): see report.json")
        self.stdout.write(
            f"report: {options['out'] / 'report.json'}  plots: {options['out'] / 'report.png'}"
        )


def _summary(report: dict) -> str:
    """The figures that matter to users, in a few lines."""
    interval = report["auc_interval"]
    auc = " ".join(
        f"{k}={v:.3f} ({interval[k][0]:.2f}-{interval[k][1]:.2f})" for k, v in report["auc"].items()
    )
    base = " ".join(f"{k}={v:.3f}" for k, v in report["baseline_mean_pool_auc"].items())
    v = report["verdicts"]
    lines = [
        f"{report['scored']} of {report['samples']} samples scored "
        f"({v['reals']} real, {v['fakes']} fake); model {report['model']['version']}"
        + (f"; every video re-encoded: {report['reencode']}" if report["reencode"] else ""),
        f"AUC (95 % interval over groups) {auc}",
        f"reals called fake {v['false_alarms']:.1%}  fakes called real {v['misses']:.1%}  "
        f"uncertain {v['uncertain']:.1%}  ECE {report['ece']:.3f} "
        f"(a calibrated model would show {report['ece_floor']:.3f} on these)",
    ]
    if base:
        lines.append(f"mean-pool baseline AUC {base}")
    for name, r in report["per_resolution"].items():
        lines.append(
            f"short side {name}: {r['reals']} real / {r['fakes']} fake, AUC {r['auc']:.3f}, "
            f"reals called fake {r['false_alarms']:.1%}"
        )
    return "\n".join(lines)
