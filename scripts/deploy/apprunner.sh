# PLATFORM=apprunner: SyncKairos on AWS App Runner from an ECR image
# (deploy/apprunner.yaml). REST only: App Runner does not carry WebSockets and ends
# requests after 120 s; one region, no internal API (deploy/README.md). Sourced by
# scripts/deploy.sh.
#
#   AWS_REGION=us-east-1 [IMAGE_TAG=TAG] PLATFORM=apprunner scripts/deploy.sh [--dry-run]
#
# Needs the AWS CLI (logged in), docker, the secrets synckairos/redis-url and
# synckairos/database-url in Secrets Manager (full URLs, passwords included) and the
# two IAM roles named in deploy/apprunner.yaml. Creates the ECR repository and the
# autoscaling configuration when missing, pushes the image, then creates the service
# or updates its image.

deploy_main() {
  [ $# -eq 0 ] || die "apprunner: unknown argument $1 (see scripts/deploy/apprunner.sh)"
  local region tag account
  region=$(required AWS_REGION "the AWS region to run in, e.g. us-east-1")
  tag="${IMAGE_TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo latest)}"
  need aws "https://docs.aws.amazon.com/cli/"
  need docker "install Docker to build the image"
  if [ "$DRY" = 1 ]; then
    echo "+ aws sts get-caller-identity --query Account --output text"
    account="<AWS_ACCOUNT_ID>"
  else
    account=$(aws sts get-caller-identity --query Account --output text)
  fi
  local repo="$account.dkr.ecr.$region.amazonaws.com/synckairos"

  # 1. The image in ECR.
  if [ "$DRY" = 1 ]; then
    echo "+ aws ecr describe-repositories --repository-names synckairos --region $region || aws ecr create-repository --repository-name synckairos --region $region"
    echo "+ aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $account.dkr.ecr.$region.amazonaws.com"
  else
    aws ecr describe-repositories --repository-names synckairos --region "$region" >/dev/null 2>&1 ||
      run aws ecr create-repository --repository-name synckairos --region "$region"
    echo "+ aws ecr get-login-password --region $region | docker login ... --password-stdin"
    aws ecr get-login-password --region "$region" |
      docker login --username AWS --password-stdin "$account.dkr.ecr.$region.amazonaws.com"
  fi
  run docker build -t "$repo:$tag" .
  run docker push "$repo:$tag"

  # 2. Autoscaling: instances by concurrent requests (App Runner's only signal).
  local scaling
  if [ "$DRY" = 1 ]; then
    echo "+ aws apprunner create-auto-scaling-configuration --auto-scaling-configuration-name synckairos --min-size 2 --max-size 10 --max-concurrency 200 --region $region   # if missing"
    scaling="<AUTOSCALING_ARN>"
  else
    scaling=$(aws apprunner list-auto-scaling-configurations --auto-scaling-configuration-name synckairos \
      --region "$region" --query 'AutoScalingConfigurationSummaryList[0].AutoScalingConfigurationArn' --output text)
    if [ -z "$scaling" ] || [ "$scaling" = None ]; then
      scaling=$(aws apprunner create-auto-scaling-configuration --auto-scaling-configuration-name synckairos \
        --min-size 2 --max-size 10 --max-concurrency 200 --region "$region" \
        --query 'AutoScalingConfiguration.AutoScalingConfigurationArn' --output text)
    fi
  fi

  # 3. The service definition with its placeholders filled.
  local spec
  spec=$(mktemp --suffix .yaml)
  local text
  text=$(<deploy/apprunner.yaml)
  text=${text//'${AWS_ACCOUNT_ID}'/$account}
  text=${text//'${AWS_REGION}'/$region}
  text=${text//'${IMAGE_TAG}'/$tag}
  text=${text//'${AUTOSCALING_ARN}'/$scaling}
  text=${text//'${SYNCKAIROS_REGION}'/${SYNCKAIROS_REGION:-$region}}
  [[ "$text" != *'${'* ]] || die "deploy/apprunner.yaml has a placeholder this script does not fill"
  printf '%s\n' "$text" >"$spec"
  echo "# $spec: deploy/apprunner.yaml filled in"

  # 4. Create, or point the existing service at the new image.
  local arn=""
  if [ "$DRY" = 1 ]; then
    echo "+ aws apprunner list-services --region $region   # synckairos exists?"
    echo "+ aws apprunner create-service --cli-input-yaml file://$spec --region $region   # if not"
    echo "+ aws apprunner update-service --service-arn <arn> --source-configuration <from $spec> --region $region   # if so"
  else
    arn=$(aws apprunner list-services --region "$region" \
      --query "ServiceSummaryList[?ServiceName=='synckairos'].ServiceArn | [0]" --output text)
    if [ -z "$arn" ] || [ "$arn" = None ]; then
      run aws apprunner create-service --cli-input-yaml "file://$spec" --region "$region"
    else
      local source
      source=$(python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["SourceConfiguration"]))' "$spec")
      run aws apprunner update-service --service-arn "$arn" --source-configuration "$source" --region "$region"
    fi
  fi
  rm -f "$spec"
  run aws apprunner list-services --region "$region"
}
