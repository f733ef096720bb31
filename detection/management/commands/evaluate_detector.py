"""`manage.py evaluate_detector DATASET`: AUC, accuracy, F1, ECE, confusion matrix, ROC plot."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.models.card import CheckpointError
from detection.training.layouts import LayoutError


class Command(BaseCommand):
    help = (
        "Evaluate a checkpoint on a labelled dataset: real/ + fake/ folders, a FaceForensics++ "
        "tree, a DFDC folder with metadata.json, Celeb-DF with List_of_testing_videos.txt, or "
        "a face-crop CSV (file,label[,identity])."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", type=Path)
        parser.add_argument("--model", type=Path, help="checkpoint (default: the shipped model)")
        parser.add_argument("--out", type=Path, default=Path("var/evaluation"))
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--frames", type=int, help="frames per video (default: the card's)")
        parser.add_argument(
            "--split", choices=("train", "val", "test"), help="face-crop CSV: one identity split"
        )

    def handle(self, *args, **options):
        from detection.pipeline import resolve_model_path
        from detection.training.evaluate import evaluate_dataset, worst_errors

        model = resolve_model_path(options["model"])
        try:
            report = evaluate_dataset(
                options["dataset"],
                model,
                options["out"],
                device=options["device"],
                split=options["split"],
                frames=options["frames"],
                on_sample=lambda n, total: self.stderr.write(f"video {n}/{total}", ending="\r"),
            )
        except (LayoutError, CheckpointError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for name in ("model_metrics", "baseline_mean_pool"):
            r = report[name]
            c = r["confusion"]
            self.stdout.write(
                f"{name:20s} n={r['count']} AUC={r['auc']:.4f} acc={r['accuracy']:.4f} "
                f"P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f} ECE={r['ece']:.4f} "
                f"tp={c['tp']} fp={c['fp']} tn={c['tn']} fn={c['fn']}"
            )
        threshold = report["model_metrics"]["threshold"]
        wrong = worst_errors(report["per_sample"], threshold, count=5)
        if wrong:
            self.stdout.write(f"most confidently wrong (threshold {threshold}):")
            for sample in wrong:
                label = "fake" if sample["label"] else "real"
                self.stdout.write(f"  p={sample['fake_probability']:.3f} {label}  {sample['path']}")
        if report["skipped"]:
            self.stdout.write(f"skipped {len(report['skipped'])} sample(s): see report.json")
        self.stdout.write(
            f"report: {options['out'] / 'report.json'}  ROC: {options['out'] / 'roc.png'}"
        )
