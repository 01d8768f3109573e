#!/usr/bin/env python3
"""Checks the SAM template against the build that makes the function's zip.

Usage: check_template.py TEMPLATE --zip-path PATH [--zip FILE] [--config-source FILE...]

- TEMPLATE is valid YAML (CloudFormation's short tags such as !Ref and
  !GetAtt accepted), with the SAM transform;
- the function runs on provided.al2023, x86_64, with handler `bootstrap`;
- its CodeUri, resolved against the template's folder, is PATH: where the
  build writes the zip (`muster_add_lambda(thumbnails BUNDLE)`);
- when --zip names a built zip, it has an executable `bootstrap` at its root;
- the SQS trigger reports batch item failures and the queue's visibility
  timeout is at least six times the function's timeout;
- every !Ref and !GetAtt names a resource or parameter of the template;
- every THUMBNAILS_* variable it sets is one the function reads (the names
  quoted in the function's configuration source, --config-source).
"""
import argparse
import os
import re
import stat
import sys
import zipfile

import yaml


class Tagged:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def cloudformation_loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return Tagged(suffix, value)

    Loader.add_multi_constructor("!", construct)
    return Loader


def references(node):
    """Every name a !Ref, !GetAtt or Fn::GetAtt/Ref mapping points at."""
    if isinstance(node, Tagged):
        if node.tag == "Ref":
            yield node.value
        elif node.tag == "GetAtt":
            value = node.value
            yield value.split(".")[0] if isinstance(value, str) else value[0]
        else:
            yield from references(node.value)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value.split(".")[0] if isinstance(value, str) else value[0]
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("template")
    parser.add_argument("--zip-path", required=True)
    parser.add_argument("--zip")
    parser.add_argument("--config-source", nargs="*", default=[])
    args = parser.parse_args()

    problems = []

    def check(condition, message):
        if not condition:
            problems.append(message)

    with open(args.template) as f:
        doc = yaml.load(f, Loader=cloudformation_loader())

    check(doc.get("Transform") == "AWS::Serverless-2016-10-31", "not a SAM template")
    resources = doc.get("Resources", {})
    functions = {k: v for k, v in resources.items()
                 if v.get("Type") == "AWS::Serverless::Function"}
    check(len(functions) == 1, f"expected one function, found {sorted(functions)}")
    if not functions:
        sys.exit("\n".join(problems))
    name, function = next(iter(functions.items()))
    props = function.get("Properties", {})
    globals_ = doc.get("Globals", {}).get("Function", {})

    check(props.get("Runtime") == "provided.al2023",
          f"{name}: Runtime is {props.get('Runtime')!r}, not provided.al2023")
    check(props.get("Handler") == "bootstrap",
          f"{name}: Handler is {props.get('Handler')!r}, not bootstrap")
    check(props.get("Architectures") == ["x86_64"],
          f"{name}: Architectures is {props.get('Architectures')!r}, not [x86_64]")

    code_uri = props.get("CodeUri")
    here = os.path.dirname(os.path.abspath(args.template))
    resolved = os.path.normpath(os.path.join(here, str(code_uri)))
    check(resolved == os.path.normpath(os.path.abspath(args.zip_path)),
          f"{name}: CodeUri {code_uri!r} resolves to {resolved}, "
          f"but the build writes the zip to {args.zip_path}")

    if args.zip:
        with zipfile.ZipFile(args.zip) as z:
            try:
                info = z.getinfo("bootstrap")
                mode = info.external_attr >> 16
                check(mode & stat.S_IXUSR, f"{args.zip}: bootstrap is not executable")
            except KeyError:
                problems.append(f"{args.zip}: no bootstrap at the root")

    timeout = props.get("Timeout", globals_.get("Timeout", 3))
    sqs = [e for e in props.get("Events", {}).values() if e.get("Type") == "SQS"]
    check(len(sqs) == 1, f"{name}: expected one SQS trigger")
    for event in sqs:
        event_props = event.get("Properties", {})
        check("ReportBatchItemFailures" in event_props.get("FunctionResponseTypes", []),
              f"{name}: the SQS trigger does not report batch item failures")
        queue = event_props.get("Queue")
        queue_name = next(references(queue), None)
        queue_res = resources.get(queue_name, {})
        visibility = queue_res.get("Properties", {}).get("VisibilityTimeout", 30)
        check(visibility >= 6 * timeout,
              f"{queue_name}: VisibilityTimeout {visibility} is under six times "
              f"the function's timeout ({timeout})")

    known = set(resources) | set(doc.get("Parameters", {})) | {"AWS::Region", "AWS::AccountId",
                                                                "AWS::StackName", "AWS::Partition"}
    for ref in sorted(set(references(doc))):
        check(ref in known, f"reference to {ref!r}, which the template does not define")

    if args.config_source:
        read = set()
        for source in args.config_source:
            with open(source) as f:
                read |= set(re.findall(r'"(THUMBNAILS_[A-Z0-9_]+)"', f.read()))
        env = props.get("Environment", {}).get("Variables", {})
        for var in env:
            if var.startswith("THUMBNAILS_"):
                check(var in read, f"{name}: sets {var}, which the function does not read")

    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{args.template}: {name} on provided.al2023, handler bootstrap, code {code_uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
