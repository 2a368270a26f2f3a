//! Where artifacts live: the project's S3 bucket with content-addressed code zips, and ECR
//! repositories with images built for linux/arm64.

use super::{AwsCloud, recorded_id};
use crate::artifact;
use crate::resources::{
    self as res, BucketOut, CodeConfig, CodeOut, ImageConfig, ImageOut, Outputs, RepositoryOut,
};
use crate::sdk::SdkResult;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, Tag, Tagging,
};
use mcpkit_engine::{Desired, Inputs, Key, Live, Record};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;

fn bucket_live(name: &str) -> Live {
    BucketOut { bucket: name.to_string() }.live(name)
}

impl AwsCloud {
    pub(super) async fn bucket_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let name = &key.name;
        let head = self.aws.s3.head_bucket().bucket(name).send().await.found("read S3 bucket")?;
        if head.is_none() {
            return Ok(None);
        }
        // Not recorded: ours only when tagged so. A create that was interrupted between making
        // the bucket and tagging it left a pending record; the name holds this account and
        // region, so the untagged bucket is that one.
        if recorded.is_none() {
            let tags = self.aws.s3.get_bucket_tagging().bucket(name).send().await;
            let ours = match tags {
                Ok(t) => self.ours(key, t.tag_set().iter().map(|t| (&t.key, &t.value))),
                Err(_) => false,
            };
            if !ours {
                return Err(self.conflict(key, name));
            }
        }
        Ok(Some(bucket_live(name)))
    }

    async fn bucket_tag(&self, d: &Desired) -> Result<()> {
        let tags: Vec<Tag> = self
            .tags(&d.key)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::world(format!("internal: {e}")))?;
        let tagging =
            Tagging::builder().set_tag_set(Some(tags)).build().map_err(|e| Error::world(e.to_string()))?;
        self.aws
            .s3
            .put_bucket_tagging()
            .bucket(&d.key.name)
            .tagging(tagging)
            .send()
            .await
            .ctx("tag S3 bucket")?;
        Ok(())
    }

    pub(super) async fn bucket_create(&self, d: &Desired) -> Result<Live> {
        let name = &d.key.name;
        let mut req = self.aws.s3.create_bucket().bucket(name);
        if self.aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.aws.region.as_str()))
                    .build(),
            );
        }
        req.send().await.ctx(&format!("create S3 bucket {name}"))?;
        self.bucket_tag(d).await?;
        self.aws
            .s3
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .ctx("block public access to the S3 bucket")?;
        Ok(bucket_live(name))
    }

    pub(super) async fn bucket_update(&self, d: &Desired) -> Result<Live> {
        self.bucket_tag(d).await?;
        Ok(bucket_live(&d.key.name))
    }

    pub(super) async fn bucket_delete(&self, r: &Record) -> Result<()> {
        let s3 = &self.aws.s3;
        // mcpkit's artifacts (every version, every server it ever had) go; anything else was
        // put there by someone else, and keeps the bucket.
        let mut foreign = 0usize;
        let mut token: Option<String> = None;
        loop {
            let listed = s3
                .list_objects_v2()
                .bucket(&r.id)
                .set_continuation_token(token.take())
                .send()
                .await
                .found("list the S3 bucket")?;
            let Some(list) = listed else { return Ok(()) };
            let (ours, theirs): (Vec<&str>, Vec<&str>) =
                list.contents().iter().filter_map(|o| o.key()).partition(|k| names::is_artifact_key(k));
            foreign += theirs.len();
            let keys: Vec<ObjectIdentifier> =
                ours.into_iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
            token = list.next_continuation_token().map(str::to_string);
            if keys.is_empty() {
                if token.is_some() {
                    continue;
                }
                break;
            }
            let delete = Delete::builder()
                .set_objects(Some(keys))
                .quiet(true)
                .build()
                .map_err(|e| Error::world(e.to_string()))?;
            s3.delete_objects().bucket(&r.id).delete(delete).send().await.gone_ok("empty the S3 bucket")?;
            if token.is_none() {
                break;
            }
        }
        if foreign > 0 {
            self.kept.lock().expect("kept").insert(
                r.key.clone(),
                format!("S3 bucket {} (it holds {foreign} object(s) mcpkit did not put there)", r.id),
            );
            return Ok(());
        }
        s3.delete_bucket().bucket(&r.id).send().await.gone_ok(&format!("delete S3 bucket {}", r.id))
    }

    pub(super) async fn code_read(&self, recorded: Option<&Record>) -> Result<Option<Live>> {
        // Not recorded: the object's key depends on the code, and `code_put` skips uploading
        // an object that is already there, so there is nothing to adopt.
        let Some(CodeOut { bucket, key }) = res::recorded(recorded)? else { return Ok(None) };
        let head = self.aws.s3.head_object().bucket(&bucket).key(&key).send().await;
        let head = head_denied(head, &bucket, &key)?.found("read code artifact")?;
        Ok(head.map(|_| CodeOut { bucket, key: key.clone() }.live(&key)))
    }

    /// Builds (or reuses) the server's zip and uploads it under its content key, unless an
    /// object with that key is already there.
    pub(super) async fn code_put(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let bucket = res::need::<BucketOut>(inputs)?.bucket;
        let key = res::config::<CodeConfig>(d)?.key;
        let head = self.aws.s3.head_object().bucket(&bucket).key(&key).send().await;
        let exists = head_denied(head, &bucket, &key)?.found("read code artifact")?.is_some();
        if !exists {
            let spec = self
                .artifacts
                .get(&d.key.name)
                .ok_or_else(|| Error::world(format!("internal: no artifact for server {}", d.key.name)))?;
            let zip = artifact::build(spec, &self.build_cache).await?;
            let body = aws_sdk_s3::primitives::ByteStream::from_path(&zip)
                .await
                .map_err(|e| Error::world(format!("read {}: {e}", zip.display())))?;
            self.aws
                .s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .content_type("application/zip")
                .send()
                .await
                .ctx(&format!("upload the code of {}", d.key.name))?;
        }
        Ok(CodeOut { bucket, key: key.clone() }.live(&key))
    }

    pub(super) async fn code_delete(&self, r: &Record) -> Result<()> {
        // Never finished: nothing recorded of it; the bucket's delete empties it.
        let Some(CodeOut { bucket, key }) = res::recorded(Some(r))? else { return Ok(()) };
        self.aws.s3.delete_object().bucket(&bucket).key(&key).send().await.gone_ok("delete code artifact")
    }

    pub(super) async fn repository_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let out = self
            .aws
            .ecr
            .describe_repositories()
            .repository_names(&key.name)
            .send()
            .await
            .found("read ECR repository")?;
        let Some(repo) = out.as_ref().and_then(|o| o.repositories().first()) else { return Ok(None) };
        let arn = repo
            .repository_arn()
            .ok_or_else(|| Error::world(format!("ECR answered without the ARN of {}", key.name)))?;
        if recorded_id(recorded).is_none() {
            let tags =
                self.aws.ecr.list_tags_for_resource().resource_arn(arn).send().await.ctx("read ECR tags")?;
            if !self.ours(key, tags.tags().iter().map(|t| (&t.key, &t.value))) {
                return Err(self.conflict(key, arn));
            }
        }
        let uri = repo.repository_uri().unwrap_or_default().to_string();
        Ok(Some(RepositoryOut { uri, name: key.name.clone() }.live(arn)))
    }

    fn ecr_tags(&self, key: &Key) -> Vec<aws_sdk_ecr::types::Tag> {
        self.tags(key)
            .into_iter()
            .filter_map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build().ok())
            .collect()
    }

    pub(super) async fn repository_create(&self, d: &Desired) -> Result<Live> {
        let out = self
            .aws
            .ecr
            .create_repository()
            .repository_name(&d.key.name)
            .set_tags(Some(self.ecr_tags(&d.key)))
            .send()
            .await
            .ctx(&format!("create ECR repository {}", d.key.name))?;
        let repo = out.repository().ok_or_else(|| Error::world("ECR returned no repository"))?;
        let arn =
            repo.repository_arn().ok_or_else(|| Error::world("ECR answered without the repository's ARN"))?;
        let uri =
            repo.repository_uri().ok_or_else(|| Error::world("ECR answered without the repository's URI"))?;
        Ok(RepositoryOut { uri: uri.to_string(), name: d.key.name.clone() }.live(arn))
    }

    pub(super) async fn repository_update(&self, d: &Desired, current: &Record) -> Result<Live> {
        self.aws
            .ecr
            .tag_resource()
            .resource_arn(&current.id)
            .set_tags(Some(self.ecr_tags(&d.key)))
            .send()
            .await
            .ctx("tag ECR repository")?;
        Ok(Live { id: current.id.clone(), outputs: current.outputs.clone() })
    }

    pub(super) async fn repository_delete(&self, r: &Record) -> Result<()> {
        let name =
            res::recorded::<RepositoryOut>(Some(r))?.map(|o| o.name).unwrap_or_else(|| r.key.name.clone());
        self.aws
            .ecr
            .delete_repository()
            .repository_name(&name)
            .force(true)
            .send()
            .await
            .gone_ok(&format!("delete ECR repository {name}"))
    }

    pub(super) async fn image_read(&self, recorded: Option<&Record>) -> Result<Option<Live>> {
        let Some(image) = res::recorded::<ImageOut>(recorded)? else { return Ok(None) };
        let (repo, tag) = (&image.repository, &image.tag);
        let out = self
            .aws
            .ecr
            .describe_images()
            .repository_name(repo)
            .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .found("read ECR image")?;
        Ok(out.filter(|o| !o.image_details().is_empty()).map(|_| image.live(&image.uri)))
    }

    /// Builds the server's image for linux/arm64 with the container engine found on this
    /// machine and pushes it, tagged with the code hash.
    pub(super) async fn image_put(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let engine = artifact::container_engine()?;
        let ImageConfig { repository: repo_name, hash: tag } = res::config(d)?;
        let repo_uri = match res::input::<RepositoryOut>(inputs)? {
            Some(r) => r.uri,
            None => format!("{}.dkr.ecr.{}.amazonaws.com/{repo_name}", self.aws.account, self.aws.region),
        };
        let uri = format!("{repo_uri}:{tag}");
        let spec = crate::artifact::Spec {
            server: d.key.name.clone(),
            dir: self
                .artifacts
                .get(&d.key.name)
                .map(|s| s.dir.clone())
                .ok_or_else(|| Error::world(format!("internal: no sources for server {}", d.key.name)))?,
            entrypoint: self.artifacts[&d.key.name].entrypoint.clone(),
            requirements: self.artifacts[&d.key.name].requirements.clone(),
            hash: tag.clone(),
        };
        let auth = self.aws.ecr.get_authorization_token().send().await.ctx("get an ECR login")?;
        let data =
            auth.authorization_data().first().and_then(|a| a.authorization_token()).unwrap_or_default();
        let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .map_err(|e| Error::world(format!("ECR login token: {e}")))?;
        let password =
            String::from_utf8_lossy(&decoded).split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default();
        crate::artifact::build_image(&engine, &spec, &uri, &repo_uri, &password, &self.build_cache).await?;
        Ok(ImageOut { uri: uri.clone(), repository: repo_name, tag }.live(&uri))
    }

    pub(super) async fn image_delete(&self, r: &Record) -> Result<()> {
        let Some(ImageOut { repository: repo, tag, .. }) = res::recorded(Some(r))? else { return Ok(()) };
        self.aws
            .ecr
            .batch_delete_image()
            .repository_name(&repo)
            .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(&tag).build())
            .send()
            .await
            .gone_ok("delete ECR image")
    }
}

/// A HEAD request carries no error body, so S3's refusal is a bare 403 the SDK cannot name:
/// say what IAM refused.
fn head_denied<T, E>(
    res: std::result::Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    bucket: &str,
    key: &str,
) -> Result<std::result::Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>> {
    if let Err(aws_sdk_s3::error::SdkError::ServiceError(e)) = &res
        && e.raw().status().as_u16() == 403
    {
        return Err(mcpkit_workspace::Error::world(format!(
            "read code artifact s3://{bucket}/{key}: 403 Forbidden (not authorized to perform: s3:GetObject on resource: arn:aws:s3:::{bucket}/{key})"
        ))
        .with_hint(crate::sdk::ACCESS_DENIED_HINT));
    }
    Ok(res)
}
